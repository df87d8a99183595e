/*  broker_map.c - the slot -> shard map and the registered peer names (see broker_map.h).

    File format (zconfig), DATA/broker.map:

        map
            version = "1"
            epoch = "7"
            slots = "0,1,2,0,1,2,..."          PROTO_SLOT_COUNT shard indexes
            shards                             in index order
                shard-0
                    endpoint = "tcp://127.0.0.1:5571"
            ingestors                          in registration order
                router1
                    spool = "/var/cache/nfdump/router1"

    Endpoints and spools come from the network: '"', '%' and control bytes are written as
    %XX so that any value survives zconfig (which cannot quote a '"').
*/
#include "broker/broker_map_private.h"

#include <fcntl.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Percent-encode what zconfig cannot hold in a quoted value.

static char *
s_encode (const char *text)
{
    char *out = (char *) zmalloc (strlen (text) * 3 + 1);
    char *cursor = out;
    for (const unsigned char *byte = (const unsigned char *) text; *byte; byte++) {
        if (*byte == '"' || *byte == '%' || *byte < 0x20 || *byte == 0x7f)
            cursor += sprintf (cursor, "%%%02X", *byte);
        else
            *cursor++ = (char) *byte;
    }
    *cursor = 0;
    return out;
}

//  --------------------------------------------------------------------------
//  Undo s_encode; a '%' not followed by two hex digits stays as it is.

static char *
s_decode (const char *text)
{
    char *out = strdup (text);
    assert (out);
    char *cursor = out;
    for (const char *source = text; *source; source++) {
        unsigned int value;
        if (*source == '%' && isxdigit ((unsigned char) source[1]) &&
            isxdigit ((unsigned char) source[2]) && sscanf (source + 1, "%2x", &value) == 1) {
            *cursor++ = (char) value;
            source += 2;
        }
        else
            *cursor++ = *source;
    }
    *cursor = 0;
    return out;
}

//  --------------------------------------------------------------------------
bool
broker_map_name_valid (const char *name)
{
    assert (name);
    size_t length = strlen (name);
    if (length == 0 || length > PROTO_NAME_MAX)
        return false;
    for (size_t index = 0; index < length; index++) {
        char c = name[index];
        if (!isalnum ((unsigned char) c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  An empty map for data; shards and ingestors are added by the callers.

static broker_map_t *
s_map_new (const char *data)
{
    broker_map_t *self = (broker_map_t *) zmalloc (sizeof (broker_map_t));
    self->data = strdup (data);
    self->path = zsys_sprintf ("%s/%s", data, BROKER_MAP_FILE);
    assert (self->data && self->path);
    self->epoch = 1;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        self->move.targets[slot] = BROKER_MAP_NO_TARGET;
    return self;
}

//  --------------------------------------------------------------------------
void
broker_map_destroy (broker_map_t **self_p)
{
    assert (self_p);
    broker_map_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->ingestor_count; index++) {
        zstr_free (&self->ingestor_names[index]);
        zstr_free (&self->ingestor_spools[index]);
    }
    free (self->ingestor_names);
    free (self->ingestor_spools);
    for (size_t index = 0; index < self->shard_count; index++) {
        zstr_free (&self->shard_names[index]);
        zstr_free (&self->shard_endpoints[index]);
    }
    free (self->shard_names);
    free (self->shard_endpoints);
    zstr_free (&self->move.removing);
    zstr_free (&self->path);
    zstr_free (&self->data);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  Append a shard; the caller has checked the name.

void
broker_map_shard_append (broker_map_t *self, const char *name, const char *endpoint)
{
    self->shard_names =
        (char **) realloc (self->shard_names, (self->shard_count + 1) * sizeof (char *));
    self->shard_endpoints =
        (char **) realloc (self->shard_endpoints, (self->shard_count + 1) * sizeof (char *));
    assert (self->shard_names && self->shard_endpoints);
    self->shard_names[self->shard_count] = strdup (name);
    self->shard_endpoints[self->shard_count] = strdup (endpoint);
    self->shard_count++;
}

//  --------------------------------------------------------------------------
//  Append an ingestor; the caller has checked the name.

static void
s_ingestor_append (broker_map_t *self, const char *name, const char *spool)
{
    if (self->ingestor_count == self->ingestor_alloc) {
        self->ingestor_alloc = self->ingestor_alloc ? self->ingestor_alloc * 2 : 8;
        self->ingestor_names =
            (char **) realloc (self->ingestor_names, self->ingestor_alloc * sizeof (char *));
        self->ingestor_spools =
            (char **) realloc (self->ingestor_spools, self->ingestor_alloc * sizeof (char *));
        assert (self->ingestor_names && self->ingestor_spools);
    }
    self->ingestor_names[self->ingestor_count] = strdup (name);
    self->ingestor_spools[self->ingestor_count] = strdup (spool);
    self->ingestor_count++;
}

//  --------------------------------------------------------------------------
//  Parse "a,b,c" into shards.  0 ok, -1 if a name is invalid or repeated (logged).

static int
s_shards_parse (broker_map_t *self, const char *shards)
{
    char *copy = strdup (shards);
    assert (copy);
    int rc = 0;
    char *saveptr = NULL;
    for (char *name = strtok_r (copy, ",", &saveptr); name && rc == 0;
         name = strtok_r (NULL, ",", &saveptr)) {
        if (!broker_map_name_valid (name)) {
            zsys_error ("map: shard name '%s' is invalid: use 1 to %d of A-Z a-z 0-9 . _ -", name,
                        PROTO_NAME_MAX);
            rc = -1;
        }
        else if (broker_map_shard_index (self, name) >= 0) {
            zsys_error ("map: shard name '%s' is given twice", name);
            rc = -1;
        }
        else if (self->shard_count == BROKER_MAP_SHARDS_MAX) {
            zsys_error ("map: more than %d shards", BROKER_MAP_SHARDS_MAX);
            rc = -1;
        }
        else
            broker_map_shard_append (self, name, "");
    }
    free (copy);
    if (rc == 0 && self->shard_count == 0) {
        zsys_error ("map: no shard names in '%s'", shards);
        rc = -1;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Write text to path atomically and durably: temporary file, fsync, rename, fsync of
//  the directory.  0 ok, -1 on failure (logged, the old file is intact).

static int
s_write_atomic (const char *path, const char *text)
{
    char *temp = zsys_sprintf ("%s.tmp", path);
    char *directory = strdup (path);
    assert (temp && directory);
    char *slash = strrchr (directory, '/');
    if (slash)
        *slash = 0;
    int rc = -1;
    size_t size = strlen (text);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto fail;
    for (size_t done = 0; done < size;) {
        ssize_t written = write (fd, text + done, size - done);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            goto fail;
        done += (size_t) written;
    }
    if (fsync (fd) || close (fd)) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename (temp, path))
        goto fail;
    int dir_fd = open (slash ? directory : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        fsync (dir_fd);
        close (dir_fd);
    }
    rc = 0;
    goto cleanup;
fail:
    zsys_error ("map: cannot write %s: %s", path, strerror (errno));
    if (fd >= 0)
        close (fd);
    unlink (temp);
cleanup:
    free (directory);
    zstr_free (&temp);
    return rc;
}

//  --------------------------------------------------------------------------
//  Persist the whole map.  0 ok, -1 on failure (logged).

int
broker_map_save (broker_map_t *self)
{
    zconfig_t *root = zconfig_new ("root", NULL);
    zconfig_t *map = zconfig_new ("map", root);
    zconfig_set_comment (map, " portevo broker: slot -> shard map; written by portevo-broker");
    zconfig_putf (map, "version", "%d", BROKER_MAP_VERSION);
    zconfig_putf (map, "epoch", "%" PRIu64, self->epoch);
    char *slots = (char *) zmalloc (PROTO_SLOT_COUNT * 6 + 1);
    char *cursor = slots;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        cursor += sprintf (cursor, slot ? ",%u" : "%u", self->slots[slot]);
    zconfig_put (map, "slots", slots);
    free (slots);
    zconfig_t *shards = zconfig_new ("shards", map);
    for (size_t index = 0; index < self->shard_count; index++) {
        zconfig_t *shard = zconfig_new (self->shard_names[index], shards);
        char *endpoint = s_encode (self->shard_endpoints[index]);
        zconfig_put (shard, "endpoint", endpoint);
        free (endpoint);
    }
    zconfig_t *ingestors = zconfig_new ("ingestors", map);
    for (size_t index = 0; index < self->ingestor_count; index++) {
        zconfig_t *ingestor = zconfig_new (self->ingestor_names[index], ingestors);
        char *spool = s_encode (self->ingestor_spools[index]);
        zconfig_put (ingestor, "spool", spool);
        free (spool);
    }
    broker_map_move_write (self, map);
    char *text = zconfig_str_save (root);
    assert (text);
    int rc = s_write_atomic (self->path, text);
    zstr_free (&text);
    zconfig_destroy (&root);
    return rc;
}

//  --------------------------------------------------------------------------
//  Fill self from a parsed file.  0 ok, -1 if invalid (reason in error).

static int
s_map_read (broker_map_t *self, zconfig_t *root, char *error, size_t error_size)
{
    zconfig_t *map = zconfig_locate (root, "map");
    if (!map) {
        snprintf (error, error_size, "no 'map' section");
        return -1;
    }
    if (atoi (zconfig_get (map, "version", "0")) != BROKER_MAP_VERSION) {
        snprintf (error, error_size, "version is '%s', expected %d",
                  zconfig_get (map, "version", ""), BROKER_MAP_VERSION);
        return -1;
    }
    char *end;
    self->epoch = strtoull (zconfig_get (map, "epoch", ""), &end, 10);
    if (*end || self->epoch == 0) {
        snprintf (error, error_size, "epoch is not a positive number");
        return -1;
    }
    zconfig_t *shards = zconfig_locate (map, "shards");
    for (zconfig_t *shard = shards ? zconfig_child (shards) : NULL; shard;
         shard = zconfig_next (shard)) {
        const char *name = zconfig_name (shard);
        if (!broker_map_name_valid (name) || broker_map_shard_index (self, name) >= 0 ||
            self->shard_count == BROKER_MAP_SHARDS_MAX) {
            snprintf (error, error_size, "shard '%s' is invalid or repeated", name);
            return -1;
        }
        char *endpoint = s_decode (zconfig_get (shard, "endpoint", ""));
        broker_map_shard_append (self, name, endpoint);
        free (endpoint);
    }
    if (self->shard_count == 0) {
        snprintf (error, error_size, "no shards");
        return -1;
    }
    zconfig_t *ingestors = zconfig_locate (map, "ingestors");
    for (zconfig_t *ingestor = ingestors ? zconfig_child (ingestors) : NULL; ingestor;
         ingestor = zconfig_next (ingestor)) {
        const char *name = zconfig_name (ingestor);
        if (!broker_map_name_valid (name) || broker_map_ingestor_index (self, name) >= 0) {
            snprintf (error, error_size, "ingestor '%s' is invalid or repeated", name);
            return -1;
        }
        char *spool = s_decode (zconfig_get (ingestor, "spool", ""));
        s_ingestor_append (self, name, spool);
        free (spool);
    }
    const char *cursor = zconfig_get (map, "slots", "");
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++) {
        unsigned long value = strtoul (cursor, &end, 10);
        char expected = slot + 1 < PROTO_SLOT_COUNT ? ',' : 0;
        if (end == cursor || *end != expected || value >= self->shard_count) {
            snprintf (error, error_size, "slot %zu is missing or names no shard", slot);
            return -1;
        }
        self->slots[slot] = (uint16_t) value;
        cursor = end + 1;
    }
    return broker_map_move_read (self, map, error, error_size);
}

//  --------------------------------------------------------------------------
broker_map_t *
broker_map_load (const char *data)
{
    assert (data);
    broker_map_t *self = s_map_new (data);
    if (access (self->path, F_OK)) {
        broker_map_destroy (&self);
        return NULL;
    }
    zconfig_t *root = zconfig_load (self->path);
    char error[256] = "not a readable zconfig file";
    if (!root || s_map_read (self, root, error, sizeof error)) {
        zsys_error ("map: %s is invalid: %s (fix or remove it; removing re-homes every host)",
                    self->path, error);
        broker_map_destroy (&self);
    }
    zconfig_destroy (&root);
    return self;
}

//  --------------------------------------------------------------------------
broker_map_t *
broker_map_new (const char *data, const char *shards)
{
    assert (data);
    if (zsys_dir_create ("%s", data)) {
        zsys_error ("map: cannot create data directory %s: %s", data, strerror (errno));
        return NULL;
    }
    char *path = zsys_sprintf ("%s/%s", data, BROKER_MAP_FILE);
    bool exists = access (path, F_OK) == 0;
    zstr_free (&path);
    if (exists) {
        broker_map_t *self = broker_map_load (data);
        if (self && shards) {
            char *names = broker_map_shard_names (self);
            if (strcmp (names, shards) != 0)
                zsys_warning ("map: shards given as '%s' but the persisted map has '%s' "
                              "(epoch %" PRIu64 "): the persisted map wins",
                              shards, names, self->epoch);
            zstr_free (&names);
        }
        return self;
    }
    if (!shards) {
        zsys_error ("map: no map in %s yet: name the shards (--shards or --shard-count)", data);
        return NULL;
    }
    broker_map_t *self = s_map_new (data);
    if (s_shards_parse (self, shards)) {
        broker_map_destroy (&self);
        return NULL;
    }
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        self->slots[slot] = (uint16_t) (slot % self->shard_count);
    if (broker_map_save (self))
        broker_map_destroy (&self);
    else
        zsys_info ("map: new map of %zu shards in %s", self->shard_count, self->path);
    return self;
}

//  --------------------------------------------------------------------------
uint64_t
broker_map_epoch (broker_map_t *self)
{
    assert (self);
    return self->epoch;
}

//  --------------------------------------------------------------------------
const uint16_t *
broker_map_slots (broker_map_t *self)
{
    assert (self);
    return self->slots;
}

//  --------------------------------------------------------------------------
size_t
broker_map_shard_count (broker_map_t *self)
{
    assert (self);
    return self->shard_count;
}

//  --------------------------------------------------------------------------
const char *
broker_map_shard_name (broker_map_t *self, size_t index)
{
    assert (self);
    assert (index < self->shard_count);
    return self->shard_names[index];
}

//  --------------------------------------------------------------------------
const char *
broker_map_shard_endpoint (broker_map_t *self, size_t index)
{
    assert (self);
    assert (index < self->shard_count);
    return self->shard_endpoints[index];
}

//  --------------------------------------------------------------------------
int
broker_map_shard_index (broker_map_t *self, const char *name)
{
    assert (self);
    assert (name);
    for (size_t index = 0; index < self->shard_count; index++)
        if (streq (self->shard_names[index], name))
            return (int) index;
    return -1;
}

//  --------------------------------------------------------------------------
uint32_t
broker_map_shard_slots (broker_map_t *self, size_t index)
{
    assert (self);
    assert (index < self->shard_count);
    uint32_t count = 0;
    for (size_t slot = 0; slot < PROTO_SLOT_COUNT; slot++)
        if (self->slots[slot] == index)
            count++;
    return count;
}

//  --------------------------------------------------------------------------
char *
broker_map_shard_names (broker_map_t *self)
{
    assert (self);
    size_t size = 1;
    for (size_t index = 0; index < self->shard_count; index++)
        size += strlen (self->shard_names[index]) + 1;
    char *names = (char *) zmalloc (size);
    for (size_t index = 0; index < self->shard_count; index++) {
        if (index)
            strcat (names, ",");
        strcat (names, self->shard_names[index]);
    }
    return names;
}

//  --------------------------------------------------------------------------
int
broker_map_set_shard_endpoint (broker_map_t *self, size_t index, const char *endpoint)
{
    assert (self);
    assert (index < self->shard_count);
    assert (endpoint);
    if (streq (self->shard_endpoints[index], endpoint))
        return 0;
    char *previous = self->shard_endpoints[index];
    self->shard_endpoints[index] = strdup (endpoint);
    self->epoch++;
    if (broker_map_save (self)) {
        zstr_free (&self->shard_endpoints[index]);
        self->shard_endpoints[index] = previous;
        self->epoch--;
        return -1;
    }
    zstr_free (&previous);
    return 0;
}

//  --------------------------------------------------------------------------
size_t
broker_map_ingestor_count (broker_map_t *self)
{
    assert (self);
    return self->ingestor_count;
}

//  --------------------------------------------------------------------------
const char *
broker_map_ingestor_name (broker_map_t *self, size_t index)
{
    assert (self);
    assert (index < self->ingestor_count);
    return self->ingestor_names[index];
}

//  --------------------------------------------------------------------------
const char *
broker_map_ingestor_spool (broker_map_t *self, size_t index)
{
    assert (self);
    assert (index < self->ingestor_count);
    return self->ingestor_spools[index];
}

//  --------------------------------------------------------------------------
int
broker_map_ingestor_index (broker_map_t *self, const char *name)
{
    assert (self);
    assert (name);
    for (size_t index = 0; index < self->ingestor_count; index++)
        if (streq (self->ingestor_names[index], name))
            return (int) index;
    return -1;
}

//  --------------------------------------------------------------------------
int
broker_map_add_ingestor (broker_map_t *self, const char *name, const char *spool)
{
    assert (self);
    assert (name);
    assert (spool);
    assert (broker_map_name_valid (name));
    int index = broker_map_ingestor_index (self, name);
    if (index >= 0) {
        if (streq (self->ingestor_spools[index], spool))
            return 0;
        char *previous = self->ingestor_spools[index];
        self->ingestor_spools[index] = strdup (spool);
        if (broker_map_save (self)) {
            zstr_free (&self->ingestor_spools[index]);
            self->ingestor_spools[index] = previous;
            return -1;
        }
        zstr_free (&previous);
        return 0;
    }
    s_ingestor_append (self, name, spool);
    self->epoch++;
    if (broker_map_save (self)) {
        self->ingestor_count--;
        zstr_free (&self->ingestor_names[self->ingestor_count]);
        zstr_free (&self->ingestor_spools[self->ingestor_count]);
        self->epoch--;
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
int
broker_map_remove_ingestor (broker_map_t *self, const char *name)
{
    assert (self);
    assert (name);
    int index = broker_map_ingestor_index (self, name);
    if (index < 0)
        return 1;
    char *removed_name = self->ingestor_names[index];
    char *removed_spool = self->ingestor_spools[index];
    size_t count = self->ingestor_count;
    for (size_t at = (size_t) index; at + 1 < count; at++) {
        self->ingestor_names[at] = self->ingestor_names[at + 1];
        self->ingestor_spools[at] = self->ingestor_spools[at + 1];
    }
    self->ingestor_count--;
    self->epoch++;
    if (broker_map_save (self)) {
        //  Put it back where it was
        for (size_t at = count - 1; at > (size_t) index; at--) {
            self->ingestor_names[at] = self->ingestor_names[at - 1];
            self->ingestor_spools[at] = self->ingestor_spools[at - 1];
        }
        self->ingestor_names[index] = removed_name;
        self->ingestor_spools[index] = removed_spool;
        self->ingestor_count++;
        self->epoch--;
        return -1;
    }
    zstr_free (&removed_name);
    zstr_free (&removed_spool);
    return 0;
}

//  --------------------------------------------------------------------------
void
broker_map_test_dir_remove (const char *dir)
{
    assert (dir);
    char *path = zsys_sprintf ("%s/%s", dir, BROKER_MAP_FILE);
    zsys_file_delete (path);
    zstr_free (&path);
    zsys_dir_delete ("%s", dir);
}

//  --------------------------------------------------------------------------
void
broker_map_test (bool verbose)
{
    printf (" * broker_map: ");
    zsys_set_logstream (verbose ? stderr : NULL);  //  Refusals below are logged on purpose
    char dir_template[] = "/tmp/broker_map_test.XXXXXX";
    char *dir = mkdtemp (dir_template);
    assert (dir);
    char *data = zsys_sprintf ("%s/data", dir);

    //  Names
    const char *valid[] = {"shard-0", "router.1_a", "x"};
    for (size_t index = 0; index < sizeof valid / sizeof valid[0]; index++)
        assert (broker_map_name_valid (valid[index]));
    const char *invalid[] = {
        "",    "a b", "a\"b",
        "a/b", "é",   "12345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t index = 0; index < sizeof invalid / sizeof invalid[0]; index++)
        assert (!broker_map_name_valid (invalid[index]));

    //  Nothing persisted and no names: refused; bad names: refused
    assert (broker_map_load (data) == NULL);
    assert (broker_map_new (data, NULL) == NULL);
    assert (broker_map_new (data, "a,a") == NULL);
    assert (broker_map_new (data, "a,b c") == NULL);
    assert (broker_map_new (data, ",") == NULL);

    //  First start: slot s -> shard s mod N, epoch 1
    broker_map_t *map = broker_map_new (data, "s0,s1,s2");
    assert (map);
    assert (broker_map_epoch (map) == 1);
    assert (broker_map_shard_count (map) == 3);
    assert (streq (broker_map_shard_name (map, 2), "s2"));
    assert (broker_map_shard_index (map, "s1") == 1);
    assert (broker_map_shard_index (map, "nope") == -1);
    assert (broker_map_slots (map)[0] == 0 && broker_map_slots (map)[1023] == 1023 % 3);
    assert (broker_map_shard_slots (map, 0) == 342 && broker_map_shard_slots (map, 2) == 341);
    assert (streq (broker_map_shard_endpoint (map, 0), ""));

    //  Changes bump the epoch; repeating one does not
    assert (broker_map_set_shard_endpoint (map, 1, "tcp://127.0.0.1:5572") == 0);
    assert (broker_map_epoch (map) == 2);
    assert (broker_map_set_shard_endpoint (map, 1, "tcp://127.0.0.1:5572") == 0);
    assert (broker_map_epoch (map) == 2);
    assert (broker_map_add_ingestor (map, "router1", "/spool/with \"quote\" 100%\n") == 0);
    assert (broker_map_epoch (map) == 3);
    assert (broker_map_add_ingestor (map, "router2", "/spool/2") == 0);
    assert (broker_map_add_ingestor (map, "router2", "/spool/2b") == 0);
    assert (broker_map_epoch (map) == 4);
    assert (broker_map_ingestor_count (map) == 2);
    assert (broker_map_ingestor_index (map, "router2") == 1);
    assert (streq (broker_map_ingestor_spool (map, 1), "/spool/2b"));
    broker_map_destroy (&map);
    broker_map_destroy (&map);

    //  Restart: the persisted map wins over other names
    map = broker_map_new (data, "a,b");
    assert (map);
    assert (broker_map_epoch (map) == 4);
    char *names = broker_map_shard_names (map);
    assert (streq (names, "s0,s1,s2"));
    zstr_free (&names);
    assert (streq (broker_map_shard_endpoint (map, 1), "tcp://127.0.0.1:5572"));
    assert (streq (broker_map_ingestor_name (map, 0), "router1"));
    assert (streq (broker_map_ingestor_spool (map, 0), "/spool/with \"quote\" 100%\n"));

    //  Decommission router1: router2 moves up, the epoch changes, and it persists
    assert (broker_map_remove_ingestor (map, "nobody") == 1);
    assert (broker_map_remove_ingestor (map, "router1") == 0);
    assert (broker_map_epoch (map) == 5 && broker_map_ingestor_count (map) == 1);
    assert (streq (broker_map_ingestor_name (map, 0), "router2"));
    broker_map_destroy (&map);
    map = broker_map_new (data, "a,b");
    assert (map && broker_map_epoch (map) == 5 && broker_map_ingestor_count (map) == 1);
    assert (streq (broker_map_ingestor_spool (map, 0), "/spool/2b"));
    assert (broker_map_add_ingestor (map, "router1", "/spool/with \"quote\" 100%\n") == 0);
    assert (broker_map_epoch (map) == 6 && broker_map_ingestor_index (map, "router1") == 1);
    assert (broker_map_slots (map)[4] == 1);

    //  A change that cannot be persisted is undone
    char *path = zsys_sprintf ("%s/%s", data, BROKER_MAP_FILE);
    char *moved = zsys_sprintf ("%s/moved", dir);
    assert (rename (data, moved) == 0);
    assert (broker_map_add_ingestor (map, "router3", "/x") == -1);
    assert (broker_map_set_shard_endpoint (map, 0, "tcp://x:1") == -1);
    assert (broker_map_remove_ingestor (map, "router2") == -1);
    assert (broker_map_ingestor_count (map) == 2 && broker_map_epoch (map) == 6);
    assert (streq (broker_map_ingestor_name (map, 0), "router2"));
    assert (streq (broker_map_ingestor_name (map, 1), "router1"));
    assert (streq (broker_map_shard_endpoint (map, 0), ""));
    assert (rename (moved, data) == 0);
    broker_map_destroy (&map);

    //  Invalid files are refused, never overwritten
    const char *corrupt[] = {
        "map\n    version = \"2\"\n", "map\n    version = \"1\"\n    epoch = \"0\"\n",
        "map\n    version = \"1\"\n    epoch = \"1\"\n    slots = \"0\"\n    shards\n        a\n",
        "map\n    version = \"1\"\n    epoch = \"1\"\n    slots = \"0\"\n"};
    for (size_t index = 0; index < sizeof corrupt / sizeof corrupt[0]; index++) {
        FILE *file = fopen (path, "w");
        assert (file);
        fputs (corrupt[index], file);
        fclose (file);
        assert (broker_map_new (data, "s0") == NULL);
        file = fopen (path, "r");
        char line[64] = "";
        assert (file && fgets (line, sizeof line, file));
        fclose (file);
        assert (strncmp (line, corrupt[index], strlen (line)) == 0);
    }
    unlink (path);
    zstr_free (&moved);
    zstr_free (&path);
    zsys_dir_delete ("%s", data);
    zsys_dir_delete ("%s", dir);
    zstr_free (&data);
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
