/*  broker_pdns.h - passive-DNS Common Output Format lines -> host annotations.

    `portevo annotate FILE` imports the paper's meta-data: names seen in passive DNS for
    the hosts portevo watches.  The input is the Common Output Format of
    draft-dulaunoy-dnsop-passive-dns-cof, one JSON object per line with (at least) the
    fields rrname, rrtype, rdata, time_first and time_last, e.g.

        {"rrname":"mail.example.org","rrtype":"A","rdata":"192.0.2.1",
         "time_first":1700000000,"time_last":1700086400,"count":3}

    The file comes from outside and is treated as hostile: the parser is strict RFC 8259
    for what it reads (UTF-8 only, no control characters in strings, no lone surrogates,
    no \u0000, no duplicate fields among those it uses, nothing after the object),
    bounded (line length, nesting depth and members per object), never allocates, and
    never reads past the bytes it is given.  Only an object of strings and numbers is
    needed; nested values of other fields are checked and skipped.  rdata may be a string
    or an array of strings (as some servers send whole RRsets); values that do not fit
    the record (too long, too many) only matter if the record's type is used.

    A record becomes annotations by its type: A and AAAA name their rdata address with the
    rrname; PTR names the address spelled by its reversed rrname (in-addr.arpa, ip6.arpa)
    with the rdata.  Other types are skipped.  Names lose one trailing dot.
*/
#ifndef BROKER_PDNS_H_INCLUDED
#define BROKER_PDNS_H_INCLUDED

#include "proto/proto_msg.h"

#define BROKER_PDNS_LINE_MAX 65536           //  Longest line accepted, bytes
#define BROKER_PDNS_DEPTH_MAX 16             //  Deepest nesting skipped inside a line
#define BROKER_PDNS_MEMBERS_MAX 256          //  Members in one object (any depth)
#define BROKER_PDNS_RDATA_MAX 16             //  rdata values of one record (array form)
#define BROKER_PDNS_TIME_MAX 253402300799LL  //  9999-12-31T23:59:59Z

typedef struct {
    char rrname[PROTO_RRNAME_MAX + 1];                        //  As in the line
    char rrtype[PROTO_RRTYPE_MAX + 1];                        //  As in the line
    char rdata[BROKER_PDNS_RDATA_MAX][PROTO_RRNAME_MAX + 1];  //  Values as in the line
    size_t rdata_count;                                       //  Values used
    bool rdata_truncated;                                     //  Some value did not fit
    int64_t time_first;                                       //  Secs since the epoch
    int64_t time_last;                                        //  Secs since the epoch
} broker_pdns_record_t;

//  Parse one line (size bytes; a trailing "\n" or "\r\n" is allowed).  0 with the record
//  filled; 1 for a line of white space only (nothing to do); -2 if malformed, with the
//  reason in error (at most error_size bytes, NUL-terminated).  A field too long for the
//  record, or a type other than a string/integer where one is needed, is malformed.
int broker_pdns_parse (const char *line, size_t size, broker_pdns_record_t *record, char *error,
                       size_t error_size);

//  The annotation of rdata value index (< record->rdata_count): 0 with *annotation
//  filled (its strings borrowed from record and from static storage); 1 if the record's
//  type gives none (not A, AAAA or PTR); -2 if the record cannot give one (an A whose
//  rdata is not an IPv4 address, a PTR whose rrname is not a reversed address, an empty
//  name, time_first after time_last...), with the reason in error.
int broker_pdns_annotation (const broker_pdns_record_t *record, size_t index,
                            proto_annotation_t *annotation, char *error, size_t error_size);

//  Selftest
void broker_pdns_test (bool verbose);

#endif
