/*  shard_config.c - a shard's settings (see shard_config.h).
 */
#include "shard/shard_config.h"
#include "shard/shard_store.h"
#include "shard/shard_segments.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
shard_config_t *
shard_config_new (void)
{
    shard_config_t *self = (shard_config_t *) zmalloc (sizeof (shard_config_t));
    assert (self);
    self->endpoint = strdup (SHARD_ENDPOINT_DEFAULT);
    self->broker = strdup (SHARD_BROKER_DEFAULT);
    self->retention_days = SHARD_RETENTION_DAYS_DEFAULT;
    self->grace_secs = SHARD_GRACE_SECS_DEFAULT;
    self->mapsize_mb = SHARD_MAPSIZE_MB_DEFAULT;
    self->segment_days = SHARD_SEGMENT_DAYS_DEFAULT;
    assert (self->endpoint && self->broker);
    return self;
}

//  --------------------------------------------------------------------------
void
shard_config_destroy (shard_config_t **self_p)
{
    assert (self_p);
    shard_config_t *self = *self_p;
    if (self) {
        free (self->name);
        free (self->endpoint);
        free (self->data);
        free (self->broker);
        free (self->curve_keys);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  A decimal number in [min, max]; 0, or -1 if it is not one.

static int
s_number (const char *value, uint64_t min, uint64_t max, uint64_t *number)
{
    if (!*value || *value == '-' || *value == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long parsed = strtoull (value, &end, 10);
    if (errno || *end || parsed < min || parsed > max)
        return -1;
    *number = parsed;
    return 0;
}

//  --------------------------------------------------------------------------
static void
s_replace (char **field, const char *value)
{
    free (*field);
    *field = strdup (value);
    assert (*field);
}

//  --------------------------------------------------------------------------
int
shard_config_set (shard_config_t *self, const char *key, const char *value)
{
    assert (self);
    assert (key);
    assert (value);
    uint64_t number = 0;
    int rc = 0;
    if (streq (key, "name"))
        s_replace (&self->name, value);
    else if (streq (key, "endpoint"))
        s_replace (&self->endpoint, value);
    else if (streq (key, "data"))
        s_replace (&self->data, value);
    else if (streq (key, "broker"))
        s_replace (&self->broker, value);
    else if (streq (key, "curve-keys") || streq (key, "curve_keys"))
        s_replace (&self->curve_keys, value);
    else if (streq (key, "retention-days") || streq (key, "retention_days")) {
        rc = s_number (value, 1, 65535, &number);
        self->retention_days = rc ? self->retention_days : (uint32_t) number;
    }
    else if (streq (key, "grace-secs") || streq (key, "grace_secs")) {
        rc = s_number (value, 0, 7 * 86400, &number);
        self->grace_secs = rc ? self->grace_secs : (uint32_t) number;
    }
    else if (streq (key, "segment-days") || streq (key, "segment_days")) {
        rc = s_number (value, 0, SHARD_SERIES_DAYS_MAX, &number);
        self->segment_days = rc ? self->segment_days : (uint32_t) number;
    }
    else if (streq (key, "mapsize-mb") || streq (key, "mapsize_mb")) {
        rc = s_number (value, 1, 1ULL << 30, &number);
        self->mapsize_mb = rc ? self->mapsize_mb : number;
    }
    else {
        zsys_error ("config: unknown setting %s", key);
        return -1;
    }
    if (rc)
        zsys_error ("config: %s: invalid value \"%s\"", key, value);
    else if (*value == 0 && !streq (key, "data"))
        zsys_warning ("config: %s is empty", key);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_config_load (shard_config_t *self, const char *path)
{
    assert (self);
    assert (path);
    zconfig_t *root = zconfig_load (path);
    if (!root) {
        zsys_error ("config: cannot load %s", path);
        return -1;
    }
    int rc = 0;
    struct {
        const char *path;
        const char *key;
    } settings[] = {{"portevo/broker/endpoint", "broker"},
                    {"portevo/curve/keys", "curve_keys"},
                    {"portevo/shard/retention_days", "retention_days"},
                    {"portevo/shard/grace_secs", "grace_secs"},
                    {"portevo/shard/mapsize_mb", "mapsize_mb"},
                    {"portevo/shard/segment_days", "segment_days"}};
    for (size_t index = 0; index < sizeof settings / sizeof settings[0]; index++) {
        const char *value = zconfig_get (root, settings[index].path, NULL);
        if (value && shard_config_set (self, settings[index].key, value))
            rc = -1;
    }
    if (self->name) {
        const char *keys[] = {"endpoint", "data"};
        for (size_t index = 0; index < 2; index++) {
            char *setting = zsys_sprintf ("portevo/shard/%s/%s", self->name, keys[index]);
            const char *value = zconfig_get (root, setting, NULL);
            if (value && shard_config_set (self, keys[index], value))
                rc = -1;
            zstr_free (&setting);
        }
    }
    zconfig_destroy (&root);
    return rc;
}

//  --------------------------------------------------------------------------
int
shard_config_check (shard_config_t *self)
{
    assert (self);
    if (!self->name || !*self->name) {
        zsys_error ("config: no shard name (--name)");
        return -1;
    }
    if (!self->data || !*self->data) {
        zsys_error ("config: no data directory for %s (--data or portevo/shard/%s/data)",
                    self->name, self->name);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
void
shard_config_test (bool verbose)
{
    printf (" * shard_config: ");
    //  Expected failures log errors: keep them off the result line unless verbose
    if (!verbose)
        zsys_set_logstream (NULL);
    char path[] = "/tmp/shard_config_test.XXXXXX";
    int fd = mkstemp (path);
    assert (fd != -1);
    const char *text = "portevo\n"
                       "    broker\n"
                       "        endpoint = \"tcp://127.0.0.1:6000\"     # ROUTER\n"
                       "    shard\n"
                       "        retention_days = \"30\"\n"
                       "        grace_secs = \"60\"\n"
                       "        shard-1\n"
                       "            endpoint = \"tcp://127.0.0.1:6002\"\n"
                       "            data = \"/tmp/shard-1\"\n";
    assert (write (fd, text, strlen (text)) == (ssize_t) strlen (text));
    close (fd);
    shard_config_t *config = shard_config_new ();
    assert (shard_config_check (config) == -1);
    assert (shard_config_set (config, "name", "shard-1") == 0);
    assert (shard_config_load (config, path) == 0);
    assert (streq (config->broker, "tcp://127.0.0.1:6000"));
    assert (streq (config->endpoint, "tcp://127.0.0.1:6002"));
    assert (streq (config->data, "/tmp/shard-1"));
    assert (config->retention_days == 30 && config->grace_secs == 60);
    assert (config->mapsize_mb == SHARD_MAPSIZE_MB_DEFAULT);
    assert (shard_config_check (config) == 0);
    //  Flags override; bad values are refused and change nothing
    struct {
        const char *key, *value;
        int rc;
    } cases[] = {{"retention-days", "90", 0}, {"retention-days", "0", -1},
                 {"grace-secs", "-5", -1},    {"grace-secs", "12x", -1},
                 {"mapsize-mb", "1024", 0},   {"mapsize-mb", "99999999999999999999", -1},
                 {"segment-days", "7", 0},    {"segment-days", "65", -1},
                 {"colour", "blue", -1}};
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++)
        assert (shard_config_set (config, cases[index].key, cases[index].value) == cases[index].rc);
    assert (config->retention_days == 90 && config->grace_secs == 60);
    assert (config->mapsize_mb == 1024 && config->segment_days == 7);
    assert (shard_config_load (config, "/nonexistent/portevo.cfg") == -1);
    shard_config_destroy (&config);
    assert (config == NULL);
    unlink (path);
    zsys_set_logstream (stdout);
    printf ("OK\n");
}
