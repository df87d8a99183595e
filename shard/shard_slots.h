/*  shard_slots.h - a slot set's data leaving or joining a shard (slot moves).

    A move (PROTOCOL.md "Slot moves") copies every record of the hosts of some slots
    from the source shard to the target, then the map switches, then the source
    deletes them.  This module is that copy and that delete, on the store's
    transactions (shard_kv.h):

    - export reads, in one read transaction (one snapshot), every host-keyed record of
      the hosts whose slot (proto_shard_slot) is in the set, into a self-describing
      byte string: the sub-databases of the table in shard_slots.c (SHARD_SLOTS_TABLE
      in shard_keys.h lists them: adding a host-keyed sub-database is one line there),
      plus the daily rows, read from `days` and from the packed `chunks` alike and
      exported one a row;
    - import writes such a string in one write transaction, with put semantics (a
      record is replaced, never added to), so importing twice is importing once: a
      move resumed after a crash copies again without double counting.  Daily rows go
      where shard_days_get finds them (else `days`; the next archive run packs them);
    - delete removes, in one write transaction, every host-keyed record and daily row
      of the set's hosts (rows inside chunks: the chunk is re-encoded without them);
      deleting again finds nothing.
    Both writes rebuild the top lists of every (day, port) whose rows changed from the
    rows (shard_top_cache_invalidate), so a shard's lists stay exact for the hosts it
    holds; a (day, port) left without rows loses its lists (and the day leaves DAYS).

    Open blocks move too (PROTOCOL.md "Slot moves"): the open-block values (`rows`)
    of the set's hosts are exported, imported (put) and deleted like their daily rows,
    and every open block's record (`open`: its first arrival and the sources that
    delivered it) is exported whatever its hosts; the import unites it with the
    target's (sources joined, the earlier first arrival kept; a block final on the
    target stays final), which is idempotent.  The import first drops the target's
    open values of the string's slots (only an earlier import of the same batch put
    any there): a block the source finalised between two imports then comes once, as
    daily rows.  So the target knows which ingestors'
    parts of a block it holds, the source's included, and finalises the block once
    the others arrive.  A target that already finalised a block (grace) of which the
    string carries open values refuses the import (SHARD_SLOTS_BUSY, nothing written):
    the source finalises it soon too, and a new export carries its daily rows.  Not
    moved: part ids, final-block records and counters (meta): per block or per shard.

    Both directions move (shard_keys.h: the in direction's *_in copies): the walks run
    once a direction, the per-direction sub-databases of the table (hosts) and the
    daily rows reaching their *_in copies in the in direction; notes and others are
    walked once.

    Export string: [hdr][record]..., record = [table index: 1][varint key size][key]
    [varint value size][value]; table index 255 is a daily row: key a `days` key,
    value a days row (shard_codec.h), 254 a daily row of the in direction; a table
    index or'ed with 0x80 is a record of that sub-database's in direction copy; 250 (the
    first record) the slot set (key "slots", value the bitmap); 253 an
    open block's record (key an `open` key), 252 an open row (key a `rows` key, value
    an open row), 251 an open row of the in direction.  An older build refuses a string
    with 250-253 as one that does not decode (nothing written).
*/
#ifndef SHARD_SLOTS_H_INCLUDED
#define SHARD_SLOTS_H_INCLUDED

#include "proto/proto_shard.h"
#include "shard/shard_codec.h"
#include "shard/shard_store.h"

#define SHARD_SLOTS_BYTES (PROTO_SLOT_COUNT / 8)  //  A slot set as a bitmap

//  A set of slots: bit s % 8 of byte s / 8 is slot s.
typedef struct {
    uint8_t bits[SHARD_SLOTS_BYTES];
} shard_slots_t;

static inline bool
shard_slots_has (const shard_slots_t *self, uint32_t slot)
{
    return slot < PROTO_SLOT_COUNT && (self->bits[slot / 8] >> (slot % 8) & 1);
}

static inline void
shard_slots_add (shard_slots_t *self, uint32_t slot)
{
    if (slot < PROTO_SLOT_COUNT)
        self->bits[slot / 8] |= (uint8_t) (1u << (slot % 8));
}

//  What an export, import or delete did.
typedef struct {
    uint64_t records;  //  Host-keyed records (host records, annotations, others)
    uint64_t rows;     //  Daily rows
    uint64_t lists;    //  (day, port) top lists rebuilt
    uint64_t blocks;   //  Open blocks' records (exported, or united on import)
} shard_slots_count_t;

#define SHARD_SLOTS_BUSY -10  //  Import: a block open on the source is final here

//  Export the data of the hosts of slots, their open-block values and every open
//  block's record into out (reset first).  SHARD_STORE_OK or SHARD_STORE_FAILED.
int shard_slots_export (shard_store_t *store, const shard_slots_t *slots, shard_buffer_t *out,
                        shard_slots_count_t *count);

//  Import an export string.  SHARD_STORE_OK, SHARD_STORE_INVALID (it does not decode:
//  nothing written), SHARD_SLOTS_BUSY (it carries open values of a block final here:
//  nothing written, export again), SHARD_STORE_FULL or SHARD_STORE_FAILED (nothing
//  written).
int shard_slots_import (shard_store_t *store, const void *data, size_t size,
                        shard_slots_count_t *count);

//  Delete the data of the hosts of slots, open-block values included (the open blocks'
//  records stay: the other hosts' parts are in them).  SHARD_STORE_OK,
//  SHARD_STORE_FULL or SHARD_STORE_FAILED.
int shard_slots_delete (shard_store_t *store, const shard_slots_t *slots,
                        shard_slots_count_t *count);

//  Selftest
void shard_slots_test (bool verbose);

#endif
