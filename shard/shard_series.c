/*  shard_series.c - a host's rows over a segment of days, bit-packed (see shard_series.h).

    Pure functions over bytes.  The writer and the reader of the bit stream keep the
    stream least significant bit first; the reader loads 8 bytes at a time while there
    are 8 left and past the end counts the zero bits it supplies (phantom bits): one of
    them consumed marks the record malformed, so nothing is read out of bounds and a
    truncated record is refused.
*/
#include "shard/shard_series.h"

#include <assert.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_ONE 0   //  sum = max = min
#define FORM_FLAT 1  //  max = min, sum another
#define FORM_PAIR 2  //  min < max, sum = max + min
#define FORM_FULL 3  //  any other

#define FLAGS_ZERO 0      //  Header mode: every row's flags are 0
#define FLAGS_CONSTANT 1  //  Every row has the flags byte after the counts
#define FLAGS_ROWS 2      //  Each row codes its flags

#define COLUMNS (PROTO_FEATURE_COUNT * 3)  //  feature x {min, max - min, sum - max}
#define PORT_LENGTH_BITS 5                 //  Bit length of a port gap, 0 .. 16
#define LENGTH_NEAR 3                      //  Length differences coded without escape
#define CODE_ZERO 3                        //  Length code of the value 0: three ones, a zero
#define CODE_ESCAPE 5                      //  Five ones: a sign and a far difference follow
#define ESCAPE_GAMMA_MAX 5                 //  Longest Elias gamma exponent of a far difference
#define PORTS_MAX 65536
#define AVERAGE_ONE 8     //  Fixed point of a column's average length
#define AVERAGE_WEIGHT 1  //  Weight of a new length in it: 1 / 2^AVERAGE_WEIGHT
#define FORMS_RECENT 4    //  Distinct forms remembered

//  Length codes: a difference of 1, 2, 3 from the prediction is ones 1, 2, 4, a zero
//  and the sign
static const int s_near_ones[LENGTH_NEAR + 1] = {0, 1, 2, 4};
static const int s_ones_near[CODE_ESCAPE] = {0, 1, 2, 0, 3};

//  Which feature's length moves predict a feature's: packets follow bytes, durations
//  packets
static const int s_follows[PROTO_FEATURE_COUNT] = {-1, 0, 1, -1};
static const int s_no_move[3] = {0, 0, 0};

//  The forms remembered at a record's start: all ONE, all FULL, PAIR but peers FLAT
static const uint8_t s_forms_guess[FORMS_RECENT] = {0x00, 0xff, 0x6a, 0x7f};

//  The first row's length guesses, per column (bytes of a block, a few packets, ...)
static const uint8_t s_length_guess[COLUMNS] = {12, 12, 12, 4, 4, 4, 8, 8, 8, 1, 1, 1};

//  --------------------------------------------------------------------------
//  Bit lengths

static inline int
s_length (uint64_t value)
{
    return value ? 64 - __builtin_clzll (value) : 0;
}

static inline uint64_t
s_mask (int width)
{
    return width >= 64 ? UINT64_MAX : ((uint64_t) 1 << width) - 1;
}

//  --------------------------------------------------------------------------
//  The bit writer

typedef struct {
    shard_buffer_t *out;  //  Bytes written so far
    uint64_t bits;        //  Bits not yet written, the first in bit 0
    int count;            //  How many (< 8 between calls)
} s_writer_t;

static void
s_put (s_writer_t *self, uint64_t value, int width)
{
    if (width > 32) {
        s_put (self, value, 32);
        s_put (self, value >> 32, width - 32);
        return;
    }
    self->bits |= (value & s_mask (width)) << self->count;
    self->count += width;
    while (self->count >= 8) {
        shard_buffer_byte (self->out, (uint8_t) self->bits);
        self->bits >>= 8;
        self->count -= 8;
    }
}

static void
s_flush (s_writer_t *self)
{
    if (self->count > 0)
        shard_buffer_byte (self->out, (uint8_t) self->bits);
    self->bits = 0;
    self->count = 0;
}

//  --------------------------------------------------------------------------
//  The bit reader

typedef struct {
    const uint8_t *data;  //  Next byte to load
    const uint8_t *end;   //  One past the last byte
    uint64_t bits;        //  Loaded bits, the next in bit 0 (above count: not yet counted)
    int count;            //  Loaded bits counted (<= 64)
    int phantom;          //  Of those, zero bits supplied past the end (the top ones)
    bool bad;             //  A phantom bit was consumed
} s_reader_t;

static void
s_reader_init (s_reader_t *self, const uint8_t *data, const uint8_t *end)
{
    self->data = data;
    self->end = end;
    self->bits = 0;
    self->count = 0;
    self->phantom = 0;
    self->bad = false;
}

//  Load at least 57 bits
static inline void
s_fill (s_reader_t *self)
{
    if (self->end - self->data >= 8) {
        uint64_t word;
        memcpy (&word, self->data, 8);
        self->bits |= le64toh (word) << self->count;
        self->data += (63 - self->count) >> 3;
        self->count |= 56;
        return;
    }
    while (self->count <= 56) {
        if (self->data < self->end)
            self->bits |= (uint64_t) *self->data++ << self->count;
        else
            self->phantom += 8;
        self->count += 8;
    }
}

static inline void
s_skip (s_reader_t *self, int width)
{
    self->bits >>= width;
    self->count -= width;
    if (self->count < self->phantom)
        self->bad = true;
}

//  width <= 56
static inline uint64_t
s_get (s_reader_t *self, int width)
{
    s_fill (self);
    uint64_t value = self->bits & s_mask (width);
    s_skip (self, width);
    return value;
}

static uint64_t
s_get_wide (s_reader_t *self, int width)
{
    if (width <= 56)
        return s_get (self, width);
    uint64_t low = s_get (self, 32);
    return low | s_get (self, width - 32) << 32;
}

//  True if the reader consumed exactly the record: no phantom bit, fewer than 8 bits
//  left, and those zero
static bool
s_reader_done (s_reader_t *self)
{
    if (self->bad || self->data != self->end)
        return false;
    int left = self->count - self->phantom;
    return left < 8 && (self->bits & s_mask (left)) == 0;
}

//  --------------------------------------------------------------------------
//  Values: [length code][bits below the leading one]

//  A value column's state: the bit lengths its next value is coded against
typedef struct {
    uint8_t last;      //  Of its previous value
    uint16_t average;  //  Of its nonzero values, x AVERAGE_ONE, weighted 1 / 2^AVERAGE_WEIGHT
    bool fresh;        //  No value of this port yet: the next one replaces the average
} s_column_t;

//  The bit length a nonzero value of the column is predicted to have
static inline int
s_predict (const s_column_t *column)
{
    return (column->average + AVERAGE_ONE / 2) / AVERAGE_ONE;
}

//  The prediction moved by shift, within 1 .. 64
static inline int
s_base (const s_column_t *column, int shift)
{
    int base = s_predict (column) + shift;
    return base < 1 ? 1 : base > 64 ? 64 : base;
}

//  Take length as the column's latest: returns how far it is from the prediction (0
//  unless it and the previous one are nonzero)
static inline int
s_column_set (s_column_t *column, int length)
{
    int move = length && column->last ? length - s_predict (column) : 0;
    column->last = (uint8_t) length;
    if (length) {
        int average = column->average;
        average += (length * AVERAGE_ONE - average) / (column->fresh ? 1 : 1 << AVERAGE_WEIGHT);
        column->fresh = false;
        column->average = (uint16_t) average;
    }
    return move;
}

//  A difference of more than LENGTH_NEAR: five ones, the sign, then |delta| - LENGTH_NEAR
//  (1 .. 63) in Elias gamma: k ones, a zero, its k bits below the leading one
static void
s_escape_put (s_writer_t *writer, int delta)
{
    int far = (delta < 0 ? -delta : delta) - LENGTH_NEAR;
    int exponent = s_length ((uint64_t) far) - 1;
    assert (far >= 1 && exponent <= ESCAPE_GAMMA_MAX);
    s_put (writer, s_mask (CODE_ESCAPE) | (uint64_t) (delta < 0) << CODE_ESCAPE, CODE_ESCAPE + 1);
    s_put (writer, s_mask (exponent), exponent + 1);
    s_put (writer, (uint64_t) far, exponent);
}

//  Code value in column, its length predicted moved by shift; returns its move
static int
s_value_put (s_writer_t *writer, s_column_t *column, int shift, uint64_t value)
{
    int length = s_length (value);
    if (column->last == 0)
        s_put (writer, length != 0, 1);
    if (length == 0) {
        if (column->last != 0)
            s_put (writer, s_mask (CODE_ZERO), CODE_ZERO + 1);
        return s_column_set (column, 0);
    }
    int delta = length - s_base (column, shift);
    int near = delta < 0 ? -delta : delta;
    if (near == 0)
        s_put (writer, 0, 1);
    else if (near <= LENGTH_NEAR) {
        //  ones, a zero, the sign
        int ones = s_near_ones[near];
        s_put (writer, s_mask (ones) | (uint64_t) (delta < 0) << (ones + 1), ones + 2);
    }
    else
        s_escape_put (writer, delta);
    if (length >= 2)
        s_put (writer, value, length - 1);
    return s_column_set (column, length);
}

//  Read a value of column, its length predicted moved by shift, into *value: returns
//  its move
static inline __attribute__ ((always_inline)) int
s_value_get (s_reader_t *reader, s_column_t *column, int shift, uint64_t *value)
{
    s_fill (reader);
    uint64_t bits = reader->bits;
    int used = 0;
    if (column->last == 0) {
        used = 1;
        if ((bits & 1) == 0) {
            s_skip (reader, used);
            *value = 0;
            return s_column_set (column, 0);
        }
        bits >>= 1;
    }
    int ones = __builtin_ctzll (~bits | (uint64_t) 1 << CODE_ESCAPE);
    int length;
    if (ones == 0) {
        length = s_base (column, shift);
        used += 1;
    }
    else if (ones == CODE_ZERO) {
        length = 0;
        used += CODE_ZERO + 1;
    }
    else if (ones < CODE_ESCAPE) {
        int near = s_ones_near[ones];
        length = s_base (column, shift) + (bits >> (ones + 1) & 1 ? -near : near);
        used += ones + 2;
    }
    else {
        uint64_t rest = bits >> (CODE_ESCAPE + 1);
        int exponent = __builtin_ctzll (~rest | (uint64_t) 1 << (ESCAPE_GAMMA_MAX + 1));
        int far = 1 << exponent | (int) (rest >> (exponent + 1) & s_mask (exponent));
        far += LENGTH_NEAR;
        length = exponent > ESCAPE_GAMMA_MAX ? -1
                 : bits >> CODE_ESCAPE & 1   ? s_base (column, shift) - far
                                             : s_base (column, shift) + far;
        used += CODE_ESCAPE + 2 + 2 * exponent;
    }
    if (length < 0 || length > 64) {
        reader->bad = true;
        *value = 0;
        return 0;
    }
    int move = s_column_set (column, length);
    if (length < 2) {
        s_skip (reader, used);
        *value = (uint64_t) length;
        return move;
    }
    uint64_t top = (uint64_t) 1 << (length - 1);
    if (used + length <= reader->count) {
        //  The common case: the code and the value's bits are all loaded
        *value = top | (reader->bits >> used & (top - 1));
        s_skip (reader, used + length - 1);
        return move;
    }
    s_skip (reader, used);
    *value = top | s_get_wide (reader, length - 1);
    return move;
}

//  --------------------------------------------------------------------------
static int
s_form (const uint64_t *value)
{
    uint64_t min = value[PROTO_OP_MIN], max = value[PROTO_OP_MAX], sum = value[PROTO_OP_SUM];
    if (min == max)
        return sum == max ? FORM_ONE : FORM_FLAT;
    if (min < max && max <= UINT64_MAX - min && sum == max + min)
        return FORM_PAIR;
    return FORM_FULL;
}

//  --------------------------------------------------------------------------
//  What the coder of rows remembers from one row to the next (encoder and decoder)

typedef struct {
    s_column_t columns[COLUMNS];  //  Each value column's lengths
    uint8_t forms[FORMS_RECENT];  //  The last distinct forms, the last row's first
    uint8_t flags;                //  The last row's flags
} s_state_t;

static void
s_state_init (s_state_t *self)
{
    for (int column = 0; column < COLUMNS; column++) {
        self->columns[column].last = s_length_guess[column];
        self->columns[column].average = (uint16_t) (s_length_guess[column] * AVERAGE_ONE);
        self->columns[column].fresh = true;
    }
    memcpy (self->forms, s_forms_guess, sizeof self->forms);
    self->flags = 0;
}

//  forms, at index of the recent ones (FORMS_RECENT: new), to the front
static inline void
s_forms_front (s_state_t *self, int index, uint8_t forms)
{
    if (index == FORMS_RECENT)
        index--;
    memmove (self->forms + 1, self->forms, (size_t) index);
    self->forms[0] = forms;
}

//  forms become the last row's: the index i of the forms among the last FORMS_RECENT
//  distinct ones as i ones and a zero, or FORMS_RECENT ones and 8 bits; moved to front
static void
s_forms_put (s_writer_t *writer, s_state_t *state, uint8_t forms)
{
    int index = 0;
    while (index < FORMS_RECENT && state->forms[index] != forms)
        index++;
    if (index < FORMS_RECENT)
        s_put (writer, s_mask (index), index + 1);
    else
        s_put (writer, s_mask (FORMS_RECENT) | (uint64_t) forms << FORMS_RECENT, FORMS_RECENT + 8);
    s_forms_front (state, index, forms);
}

static void
s_forms_get (s_reader_t *reader, s_state_t *state)
{
    s_fill (reader);
    int index = __builtin_ctzll (~reader->bits | (uint64_t) 1 << FORMS_RECENT);
    s_skip (reader, index < FORMS_RECENT ? index + 1 : FORMS_RECENT);
    uint8_t forms = index < FORMS_RECENT ? state->forms[index] : (uint8_t) s_get (reader, 8);
    s_forms_front (state, index, forms);
}

//  --------------------------------------------------------------------------
//  The days of one port's rows (rows[0 .. count - 1]) as a set, then coded

static void
s_days_put (s_writer_t *writer, const shard_series_row_t *rows, size_t count, uint32_t days)
{
    int width = s_length (days - 1);
    if ((size_t) width * (count + 1) < days) {
        s_put (writer, 1, 1);
        s_put (writer, count - 1, width);
        for (size_t index = 0; index < count; index++)
            s_put (writer, rows[index].day, width);
    }
    else {
        uint64_t set = 0;
        for (size_t index = 0; index < count; index++)
            set |= (uint64_t) 1 << rows[index].day;
        s_put (writer, 0, 1);
        s_put (writer, set, (int) days);
    }
}

//  The day set of the next port, or 0 if malformed
static uint64_t
s_days_get (s_reader_t *reader, uint32_t days)
{
    if (s_get (reader, 1) == 0) {
        uint64_t set = s_get_wide (reader, (int) days);
        return reader->bad ? 0 : set;
    }
    int width = s_length (days - 1);
    uint64_t count = s_get (reader, width) + 1, set = 0;
    int previous = -1;
    for (uint64_t index = 0; index < count; index++) {
        int day = (int) s_get (reader, width);
        if (day <= previous || (uint32_t) day >= days)
            return 0;
        set |= (uint64_t) 1 << day;
        previous = day;
    }
    return reader->bad ? 0 : set;
}

//  --------------------------------------------------------------------------
void
shard_series_encode (const shard_series_row_t *rows, size_t count, uint32_t days,
                     shard_buffer_t *out)
{
    assert (rows);
    assert (count >= 1);
    assert (days >= 1 && days <= SHARD_SERIES_DAYS_MAX);
    assert (out);
    bool flags_constant = true;
    for (size_t index = 0; index < count; index++) {
        assert (rows[index].day < days);
        if (index == 0)
            continue;
        const shard_series_row_t *previous = &rows[index - 1];
        assert (previous->port < rows[index].port ||
                (previous->port == rows[index].port && previous->day < rows[index].day));
        flags_constant &= rows[index].row.flags == rows[0].row.flags;
    }
    int flags_mode = !flags_constant ? FLAGS_ROWS : rows[0].row.flags ? FLAGS_CONSTANT : FLAGS_ZERO;
    shard_buffer_reset (out);
    shard_buffer_header (out, (uint8_t) flags_mode);
    shard_buffer_varint (out, count);
    if (flags_mode == FLAGS_CONSTANT)
        shard_buffer_byte (out, rows[0].row.flags);

    s_writer_t writer = {out, 0, 0};
    s_state_t state;
    s_state_init (&state);
    for (size_t start = 0, end; start < count; start = end) {
        for (end = start + 1; end < count && rows[end].port == rows[start].port; end++)
            ;
        uint64_t gap =
            start ? (uint64_t) (rows[start].port - rows[start - 1].port - 1) : rows[start].port;
        int gap_length = s_length (gap);
        s_put (&writer, (uint64_t) gap_length, PORT_LENGTH_BITS);
        if (gap_length >= 2)
            s_put (&writer, gap, gap_length - 1);
        s_days_put (&writer, rows + start, end - start, days);
        for (int column = 0; column < COLUMNS; column++)
            state.columns[column].fresh = true;
        for (size_t index = start; index < end; index++) {
            const shard_row_t *row = &rows[index].row;
            if (flags_mode == FLAGS_ROWS) {
                if (row->flags == state.flags)
                    s_put (&writer, 0, 1);
                else
                    s_put (&writer, 1 | (uint64_t) row->flags << 1, 9);
                state.flags = row->flags;
            }
            uint8_t forms = 0;
            for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++)
                forms |= (uint8_t) (s_form (row->value[feature]) << (2 * feature));
            s_forms_put (&writer, &state, forms);
            int moved[PROTO_FEATURE_COUNT][3];
            for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
                const uint64_t *value = row->value[feature];
                int form = forms >> (2 * feature) & 3;
                s_column_t *column = state.columns + 3 * feature;
                const int *lead = s_follows[feature] < 0 ? s_no_move : moved[s_follows[feature]];
                moved[feature][0] = s_value_put (&writer, &column[0], lead[0], value[PROTO_OP_MIN]);
                moved[feature][1] = moved[feature][2] = 0;
                if (form == FORM_PAIR || form == FORM_FULL)
                    moved[feature][1] = s_value_put (&writer, &column[1], lead[1],
                                                     value[PROTO_OP_MAX] - value[PROTO_OP_MIN]);
                if (form == FORM_FLAT || form == FORM_FULL)
                    moved[feature][2] = s_value_put (&writer, &column[2], lead[2],
                                                     value[PROTO_OP_SUM] - value[PROTO_OP_MAX]);
            }
        }
    }
    s_flush (&writer);
}

//  --------------------------------------------------------------------------
//  The decoder: the header, then one row at a time

typedef struct {
    s_reader_t reader;  //  The bit stream
    uint32_t days;      //  Days of the segment
    int flags_mode;     //  FLAGS_*
    s_state_t state;    //  What the rows before left (flags: the constant ones)
    size_t rows_left;   //  Rows still to read
    int port;           //  Current port, -1 before the first
    uint64_t day_set;   //  Days of the current port still to read
} s_decoder_t;

//  Read the header: the row count, or -1
static int
s_header_read (shard_reader_t *reader, int *flags_mode, uint8_t *flags)
{
    int mode = shard_reader_header (reader);
    uint64_t count = shard_reader_varint (reader);
    *flags = mode == FLAGS_CONSTANT ? shard_reader_byte (reader) : 0;
    if (reader->bad || mode < 0 || mode > FLAGS_ROWS || count < 1 ||
        count > PORTS_MAX * SHARD_SERIES_DAYS_MAX || (mode == FLAGS_CONSTANT && *flags == 0))
        return -1;
    *flags_mode = mode;
    return (int) count;
}

static int
s_decoder_init (s_decoder_t *self, const void *data, size_t size, uint32_t days)
{
    shard_reader_t bytes;
    shard_reader_init (&bytes, data, size);
    uint8_t flags;
    int count = s_header_read (&bytes, &self->flags_mode, &flags);
    if (count < 0 || days < 1 || days > SHARD_SERIES_DAYS_MAX)
        return -1;
    s_reader_init (&self->reader, bytes.data, bytes.end);
    self->days = days;
    s_state_init (&self->state);
    self->state.flags = flags;
    self->rows_left = (size_t) count;
    self->port = -1;
    self->day_set = 0;
    return count;
}

//  The values of a feature of form from the stored ones, into value: false if they
//  could not have been coded so
static inline bool
s_feature_set (uint64_t *value, int form, uint64_t min, uint64_t to_max, uint64_t to_sum)
{
    uint64_t max = min + to_max, sum = max + to_sum;  //  modulo 2^64 in FULL
    if (form == FORM_PAIR) {
        if (to_max == 0 || to_max > UINT64_MAX - min || max > UINT64_MAX - min)
            return false;
        sum = max + min;
    }
    value[PROTO_OP_MIN] = min;
    value[PROTO_OP_MAX] = max;
    value[PROTO_OP_SUM] = sum;
    return form != FORM_FLAT || to_sum != 0;
}

//  The next row into row: 1 read, 0 no more rows (the record checked to its end),
//  -1 malformed
static inline __attribute__ ((always_inline)) int
s_decoder_next (s_decoder_t *self, shard_series_row_t *row)
{
    s_reader_t *reader = &self->reader;
    if (self->rows_left == 0)
        return self->day_set == 0 && s_reader_done (reader) ? 0 : -1;
    if (self->day_set == 0) {
        int gap_length = (int) s_get (reader, PORT_LENGTH_BITS);
        if (gap_length > 16)
            return -1;
        uint64_t gap = gap_length < 2
                           ? (uint64_t) gap_length
                           : (uint64_t) 1 << (gap_length - 1) | s_get (reader, gap_length - 1);
        int64_t port = self->port < 0 ? (int64_t) gap : self->port + 1 + (int64_t) gap;
        self->day_set = s_days_get (reader, self->days);
        if (port >= PORTS_MAX || self->day_set == 0 || reader->bad)
            return -1;
        self->port = (int) port;
        for (int column = 0; column < COLUMNS; column++)
            self->state.columns[column].fresh = true;
    }
    row->port = (uint16_t) self->port;
    row->day = (uint8_t) __builtin_ctzll (self->day_set);
    self->day_set &= self->day_set - 1;
    self->rows_left--;
    s_state_t *state = &self->state;
    if (self->flags_mode == FLAGS_ROWS && s_get (reader, 1))
        state->flags = (uint8_t) s_get (reader, 8);
    row->row.flags = state->flags;
    s_forms_get (reader, state);
    int moved[PROTO_FEATURE_COUNT][3];
    for (int feature = 0; feature < PROTO_FEATURE_COUNT; feature++) {
        int form = state->forms[0] >> (2 * feature) & 3;
        s_column_t *column = state->columns + 3 * feature;
        const int *lead = s_follows[feature] < 0 ? s_no_move : moved[s_follows[feature]];
        uint64_t min, to_max = 0, to_sum = 0;
        moved[feature][0] = s_value_get (reader, &column[0], lead[0], &min);
        moved[feature][1] = moved[feature][2] = 0;
        if (form == FORM_PAIR || form == FORM_FULL)
            moved[feature][1] = s_value_get (reader, &column[1], lead[1], &to_max);
        if (form == FORM_FLAT || form == FORM_FULL)
            moved[feature][2] = s_value_get (reader, &column[2], lead[2], &to_sum);
        if (!s_feature_set (row->row.value[feature], form, min, to_max, to_sum))
            return -1;
    }
    return reader->bad ? -1 : 1;
}

//  --------------------------------------------------------------------------
int
shard_series_count (const void *data, size_t size)
{
    shard_reader_t reader;
    shard_reader_init (&reader, data, size);
    int flags_mode;
    uint8_t flags;
    return s_header_read (&reader, &flags_mode, &flags);
}

//  --------------------------------------------------------------------------
int
shard_series_decode (const void *data, size_t size, uint32_t days, shard_series_row_t *rows,
                     size_t capacity)
{
    assert (rows || capacity == 0);
    s_decoder_t decoder;
    int count = s_decoder_init (&decoder, data, size, days);
    if (count < 0 || (size_t) count > capacity)
        return -1;
    for (int index = 0; index < count; index++)
        if (s_decoder_next (&decoder, &rows[index]) != 1)
            return -1;
    return s_decoder_next (&decoder, &rows[0]) == 0 ? count : -1;
}

//  --------------------------------------------------------------------------
int
shard_series_find (const void *data, size_t size, uint32_t days, uint16_t port, uint8_t day,
                   shard_row_t *row)
{
    assert (row);
    s_decoder_t decoder;
    if (s_decoder_init (&decoder, data, size, days) < 0)
        return -1;
    shard_series_row_t next;
    while (true) {
        int rc = s_decoder_next (&decoder, &next);
        if (rc <= 0)
            return rc == 0 ? 1 : -1;
        if (next.port > port || (next.port == port && next.day > day))
            return 1;
        if (next.port == port && next.day == day) {
            *row = next.row;
            return 0;
        }
    }
}

//  --------------------------------------------------------------------------
//  Selftest

static void
s_row_set (shard_series_row_t *row, uint16_t port, uint8_t day, const uint64_t values[4][3],
           uint8_t flags)
{
    row->port = port;
    row->day = day;
    memcpy (row->row.value, values, sizeof row->row.value);
    row->row.flags = flags;
}

static bool
s_row_equal (const shard_row_t *one, const shard_row_t *other)
{
    return memcmp (one->value, other->value, sizeof one->value) == 0 && one->flags == other->flags;
}

//  Round trip, every row found, absent rows not, every truncation, a trailing byte and
//  every single-bit corruption refused or decoded without a read out of bounds
static size_t
s_check (const shard_series_row_t *rows, size_t count, uint32_t days, bool corrupt)
{
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_series_encode (rows, count, days, &buffer);
    shard_series_row_t *back = (shard_series_row_t *) malloc ((count + 1) * sizeof *back);
    assert (back);
    assert (shard_series_count (buffer.data, buffer.size) == (int) count);
    assert (shard_series_decode (buffer.data, buffer.size, days, back, count) == (int) count);
    assert (shard_series_decode (buffer.data, buffer.size, days, back, count - 1) == -1);
    for (size_t index = 0; index < count; index++) {
        assert (back[index].port == rows[index].port && back[index].day == rows[index].day);
        assert (s_row_equal (&back[index].row, &rows[index].row));
        if (count > 200 && index % (count / 100) != 0)
            continue;  //  A sample of a large record's rows is looked up
        shard_row_t found;
        assert (shard_series_find (buffer.data, buffer.size, days, rows[index].port,
                                   rows[index].day, &found) == 0);
        assert (s_row_equal (&found, &rows[index].row));
        //  The next day and the next port, if no row has them, are absent
        bool next_day = index + 1 == count || rows[index + 1].port != rows[index].port ||
                        rows[index + 1].day != rows[index].day + 1;
        if (next_day && rows[index].day + 1 < (int) days)
            assert (shard_series_find (buffer.data, buffer.size, days, rows[index].port,
                                       (uint8_t) (rows[index].day + 1), &found) == 1);
        if (rows[index].port < UINT16_MAX &&
            (index + 1 == count || rows[index + 1].port > rows[index].port + 1))
            assert (shard_series_find (buffer.data, buffer.size, days,
                                       (uint16_t) (rows[index].port + 1), 0, &found) == 1);
    }
    //  Every cut of a small record; of a large one, 200 spread and the last 64
    size_t size = buffer.size, stride = size > 1000 ? size / 200 : 1;
    for (size_t cut = 0; cut < size; cut += cut + 64 >= size ? 1 : stride) {
        assert (shard_series_decode (buffer.data, cut, days, back, count) == -1);
        //  The last row needs the record to its end: never found in a cut one
        shard_row_t found;
        assert (shard_series_find (buffer.data, cut, days, rows[count - 1].port,
                                   rows[count - 1].day, &found) == -1);
    }
    if (corrupt)
        for (size_t bit = 0; bit < size * 8; bit++) {
            //  A copy of exactly size bytes, so that ASan sees any read past it
            uint8_t *copy = (uint8_t *) malloc (size);
            assert (copy);
            memcpy (copy, buffer.data, size);
            copy[bit / 8] ^= (uint8_t) (1 << bit % 8);
            int rc = shard_series_decode (copy, size, days, back, count + 1);
            assert (rc >= -1 && rc <= (int) count + 1);
            shard_row_t found;
            rc = shard_series_find (copy, size, days, rows[0].port, rows[0].day, &found);
            assert (rc >= -1 && rc <= 1);
            free (copy);
        }
    shard_buffer_byte (&buffer, 0);
    assert (shard_series_decode (buffer.data, buffer.size, days, back, count) == -1);
    free (back);
    shard_buffer_free (&buffer);
    return size;
}

//  A value of a random bit length (0 .. 64)
static uint64_t
s_random_value (uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    int length = (int) (*state >> 58);  //  0 .. 63
    uint64_t value = *state * 0x9e3779b97f4a7c15ULL;
    if (length == 63 && (*state >> 20 & 1))
        return UINT64_MAX - (*state >> 40 & 3);
    return length == 0 ? 0 : (value | (uint64_t) 1 << 63) >> (64 - length);
}

void
shard_series_test (bool verbose)
{
    printf (" * shard_series: ");
    //  Each form, edge values, triples out of order (late parts), flags modes: by rows
    //  ONE, PAIR, FLAT, FULL, a PAIR at the top (max + min = UINT64_MAX) beside FULL
    //  ones whose max + min overflows, triples out of order (sum < max, max < min, sum
    //  below both, sum = max + min with max < min), each as {sum, max, min} a feature
    static const uint64_t cases[6][4][3] = {
        {{1500, 1500, 1500}, {3, 3, 3}, {20, 20, 20}, {1, 1, 1}},
        {{4196, 4096, 100}, {9, 6, 3}, {0, 0, 0}, {3, 2, 1}},
        {{96, 32, 32}, {12, 4, 4}, {2, 1, 1}, {64, 1, 1}},
        {{UINT64_MAX, UINT64_MAX, 1}, {UINT64_MAX - 1, 1ULL << 40, 2}, {10, 6, 1}, {9000, 4096, 7}},
        {{UINT64_MAX, UINT64_MAX / 2 + 1, UINT64_MAX / 2},
         {UINT64_MAX, UINT64_MAX, UINT64_MAX},
         {UINT64_MAX, UINT64_MAX - 1, 2},
         {1ULL << 63, 1ULL << 63, 1ULL << 62}},
        {{5, 9, 1}, {7, 3, 8}, {0, UINT64_MAX, 1}, {30, 10, 20}}};
    //  One row, every feature ONE, worked out by hand (bits in the order written):
    //  port 80: length 7 = 11100, then the 6 bits below its top 000010; days (D = 1):
    //  LIST 1 (no more bits: width 0); forms: the last row's (all ONE) 0; bytes 1500:
    //  length 11, guess 12: -1 = 101, then 10 bits 0011101110 (moved -1); packets 3:
    //  length 2, guess 4 moved -1 with the bytes = 3: -1 = 101, then 1 (moved -2);
    //  durations 20: length 5, guess 8 moved -2 = 6: -1 = 101, then 0010; peers 1:
    //  length 1, guess 1: 0.  38 bits: 07 aa dc 75 09 after [hdr 0x10][count 1].
    shard_series_row_t rows[16];
    s_row_set (&rows[0], 80, 0, cases[0], 0);
    shard_buffer_t buffer = {NULL, 0, 0};
    shard_series_encode (rows, 1, 1, &buffer);
    const uint8_t expect[] = {0x10, 0x01, 0x07, 0xaa, 0xdc, 0x75, 0x09};
    assert (buffer.size == sizeof expect && memcmp (buffer.data, expect, sizeof expect) == 0);
    assert (s_check (rows, 1, 1, true) == 7);

    const uint16_t ports[] = {0, 0, 0, 1, 22, 80, 80, 443, 444, 1000, 32768, 65535};
    const uint8_t days[] = {0, 5, 63, 0, 7, 0, 1, 2, 63, 30, 31, 63};
    for (uint8_t flags_case = 0; flags_case < 3; flags_case++) {
        for (size_t index = 0; index < 12; index++) {
            uint8_t flags = flags_case == 0   ? 0
                            : flags_case == 1 ? 0xa5
                                              : (uint8_t) (index % 3 ? SHARD_ROW_PEERS_CAPPED : 0);
            s_row_set (&rows[index], ports[index], days[index], cases[index % 6], flags);
        }
        size_t size = s_check (rows, 12, 64, true);
        if (verbose)
            printf ("12 rows, flags case %d: %zu bytes; ", flags_case, size);
    }
    //  Every segment length, one port with every day and one with a few (bitmap, list)
    for (uint32_t segment = 1; segment <= SHARD_SERIES_DAYS_MAX; segment++) {
        shard_series_row_t *many = (shard_series_row_t *) malloc (80 * sizeof *many);
        assert (many);
        size_t count = 0;
        for (uint32_t day = 0; day < segment; day++)
            s_row_set (&many[count++], 25, (uint8_t) day, cases[day % 2], 0);
        for (uint32_t day = segment / 2; day < segment; day += 7)
            s_row_set (&many[count++], 587, (uint8_t) day, cases[3], SHARD_ROW_PEERS_CAPPED);
        s_check (many, count, segment, segment % 16 == 1);
        free (many);
    }

    //  Random records: any values, heavy-tailed lengths, random ports and days
    uint64_t state = 0x2545f4914f6cdd1dULL;
    shard_series_row_t *many = (shard_series_row_t *) malloc (2000 * sizeof *many);
    assert (many);
    for (int round = 0; round < 24; round++) {
        uint32_t segment = 1 + (uint32_t) (state >> 40) % SHARD_SERIES_DAYS_MAX;
        size_t count = 0;
        int port = (int) (s_random_value (&state) % 100);
        size_t most = round < 4 ? 12 : round < 22 ? 200 : 2000;
        while (port <= UINT16_MAX && count < most) {
            for (uint32_t day = 0; day < segment && count < most; day++) {
                if (s_random_value (&state) % 4 == 0)
                    continue;
                shard_series_row_t *row = &many[count++];
                row->port = (uint16_t) port;
                row->day = (uint8_t) day;
                row->row.flags = s_random_value (&state) % 9 == 0 ? SHARD_ROW_PEERS_CAPPED : 0;
                for (int feature = 0; feature < 4; feature++) {
                    uint64_t *value = row->row.value[feature];
                    value[PROTO_OP_MIN] = s_random_value (&state);
                    int shape = (int) (state >> 30 & 7);
                    value[PROTO_OP_MAX] = shape < 3 ? value[PROTO_OP_MIN] : s_random_value (&state);
                    value[PROTO_OP_SUM] = shape < 2   ? value[PROTO_OP_MAX]
                                          : shape < 5 ? value[PROTO_OP_MAX] + value[PROTO_OP_MIN]
                                                      : s_random_value (&state);
                }
            }
            port += 1 + (int) (s_random_value (&state) % 3000);
        }
        if (count > 0)
            s_check (many, count, segment, round < 4);
    }
    free (many);

    //  Malformed headers: another version, zero rows, more rows than 65536 ports x 64
    //  days (4194305), constant flags of 0, an unknown flags mode; a wrong days parameter
    shard_series_encode (rows, 12, 64, &buffer);
    shard_series_row_t back[16];
    assert (shard_series_decode (buffer.data, buffer.size, 64, back, 16) == 12);
    assert (shard_series_decode (buffer.data, buffer.size, 0, back, 16) == -1);
    assert (shard_series_decode (NULL, 0, 64, back, 16) == -1);
    const uint8_t bad[][5] = {{0x20, 1, 0, 0, 0},
                              {0x10, 0, 0, 0, 0},
                              {0x10, 0x81, 0x80, 0x80, 2},
                              {0x11, 1, 0, 0, 0},
                              {0x13, 1, 0, 0, 0}};
    //  The same with 4194304 rows is a header without fault (the bits are missing)
    const uint8_t most[] = {0x10, 0x80, 0x80, 0x80, 2};
    assert (shard_series_count (most, sizeof most) == 4194304);
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        assert (shard_series_count (bad[index], 5) == -1);
        assert (shard_series_decode (bad[index], 5, 64, back, 16) == -1);
    }
    //  Crafted streams (D = 1): port 65535, its row of zeros, then a port after it (past
    //  65535), or a value of bit length 65
    for (int craft = 0; craft < 3; craft++) {
        shard_buffer_reset (&buffer);
        shard_buffer_header (&buffer, FLAGS_ZERO);
        shard_buffer_varint (&buffer, craft == 1 ? 2 : 1);
        s_writer_t writer = {&buffer, 0, 0};
        s_state_t coder;
        s_state_init (&coder);
        for (int port = 0; port < (craft == 1 ? 2 : 1); port++) {
            s_put (&writer, port ? 0 : 16, PORT_LENGTH_BITS);
            if (port == 0)
                s_put (&writer, 0x7fff, 15);
            s_put (&writer, 1, 1);  //  LIST, one day: day 0
            s_put (&writer, 0, 1);  //  forms: all ONE
            for (int feature = 0; feature < 4; feature++)
                if (craft == 2 && feature == 3) {
                    s_escape_put (&writer, 64);  //  From the guess 1: 65
                }
                else
                    s_value_put (&writer, &coder.columns[3 * feature], 0, 0);
        }
        s_flush (&writer);
        int rc = shard_series_decode (buffer.data, buffer.size, 1, back, 16);
        assert (craft == 0 ? rc == 1 && back[0].port == 65535 && back[0].row.value[3][0] == 0
                           : rc == -1);
    }
    shard_buffer_free (&buffer);
    printf ("OK\n");
}
