/*  gw_query.h - the query strings of the HTTP API, parsed and validated.

    Every endpoint takes a fixed set of parameters (gateway/API.md).  The parser decodes
    the query string (percent escapes, '+' as a space), then refuses anything it cannot
    answer exactly: an unknown, empty-named, repeated or missing parameter, a value of the
    wrong form or out of range (2026-02-30, op=avg, port=70000, host=1.2.3), a series
    range that is reversed or longer than the retention.  The error text names the
    parameter first, so the HTTP layer can send it as {"error": text} with status 400.

    Pure functions with no I/O: the caller passes today's day and the retention, so the
    table-driven selftest can pin both.
*/
#ifndef GW_QUERY_H_INCLUDED
#define GW_QUERY_H_INCLUDED

#include "proto/proto_changes.h"

#define GW_QUERY_TEXT_MAX 2048  //  Longest query string accepted (bytes, still encoded)
#define GW_QUERY_PARAMS_MAX 16  //  Most parameters in one query string
#define GW_QUERY_ECHO_MAX 64    //  Longest piece of user input quoted in an error
#define GW_QUERY_ERROR_MAX 256  //  Room for an error text

typedef enum {
    GW_QUERY_NONE = 0,     //  No parameter allowed (days, status, health)
    GW_QUERY_TOP = 1,      //  date, op, [port], [direction]
    GW_QUERY_SERIES = 2,   //  host, port (N or all), feature, op, [from], [to], [format],
                           //  [direction]
    GW_QUERY_HOST = 3,     //  ip, [direction]
    GW_QUERY_OTHERS = 4,   //  ip, [from], [to]
    GW_QUERY_CHANGES = 5,  //  date, [op], [k], [window]
    GW_QUERY_SPARKS = 6    //  date, [op], [days]
} gw_query_kind_t;

typedef struct {
    uint32_t day;             //  Top: the date asked, days since 1970-01-01
    proto_op_t op;            //  Top, series: the operation
    uint32_t port;            //  Top: the port, PROTO_PORT_ALL when absent; series: port or ALL
    proto_feature_t feature;  //  Series: the feature
    proto_addr_t host;        //  Series: host; host, others: ip
    uint32_t from;            //  Series, others: first day (inclusive)
    uint32_t to;              //  Series, others: last day (inclusive)
    bool csv;                 //  Series: format=csv
    uint32_t k;               //  Changes: spike factor, 0 when absent
    uint32_t window;          //  Changes: median window in days, 0 when absent
    uint32_t days;            //  Sparks: days of each sparkline, GW_QUERY_SPARK_DAYS if absent
    uint8_t direction;        //  Top, series, host: proto_direction_t, default out
} gw_query_t;

#define GW_QUERY_SPARK_DAYS 14  //  /api/sparks: days when the request has none

#define GW_QUERY_K_MAX PROTO_CHANGES_K_MAX  //  Largest k of /api/changes

//  (Changes: op defaults to sum; k is 1 to GW_QUERY_K_MAX, window 1 to retention_days.)
//  Parse the query string text (size bytes, without the '?'; text may be NULL when size
//  is 0) for an endpoint of the given kind into *self.  today is the current UTC day and
//  retention_days the longest series range allowed; series defaults are to = today and
//  from = to - retention_days + 1.  Returns 0, or -1 with the reason in error (at most
//  error_size bytes, NUL-terminated, naming the parameter).
int gw_query_parse (gw_query_t *self, gw_query_kind_t kind, const char *text, size_t size,
                    uint32_t today, uint32_t retention_days, char *error, size_t error_size);

//  Selftest
void gw_query_test (bool verbose);

#endif
