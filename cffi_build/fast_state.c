/*
 * `oci-runtime state <id>` without starting Python: the launcher's fast path.
 *
 * Why: engines call `state` more than anything else, and a Python process
 * cannot start in less time than runc needs for the whole command
 * (docs/performance.md).  This file answers the common case itself and gives
 * up (returns FALLBACK) on anything else, so the Python implementation, which
 * stays the reference, prints the error or the unusual document.
 *
 * Handled: global flags --root/--log/--log-format/--rootless/--criu (as
 * --flag VALUE, --flag=VALUE, -flag ...), --debug and --systemd-cgroup
 * without a value, then exactly `state <id>`.  The steps mirror
 * oci_runtime/state.py and operations/state.py: flock <root>/<id>/lock, read
 * state.json, derive the status from the kernel (pid alive, not a zombie,
 * same start time as recorded; exec.fifo present = created; frozen cgroup =
 * paused), then print the document without "runtime" the way
 * json.dumps(doc, indent=2) does.  The output is byte-identical because only
 * documents whose every token json.dumps would write back unchanged are
 * accepted (canonical string escapes, plain integers, unique keys); any
 * other document goes to Python.  tests/test_fast_state.py compares both.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fast_state.h"

#define MAX_DOC (1 << 20)
#define MAX_DEPTH 32
#define MAX_KEYS 256

struct span {
    const char *p;
    size_t n;
};

struct out {
    char *p;
    size_t n, cap;
};

static int put(struct out *o, const char *p, size_t n)
{
    if (o->n + n > o->cap) {
        size_t cap = (o->cap ? o->cap * 2 : 4096) + n;
        char *q = realloc(o->p, cap);
        if (!q)
            return -1;
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->n, p, n);
    o->n += n;
    return 0;
}

static int put_indent(struct out *o, int depth)
{
    if (put(o, "\n", 1))
        return -1;
    for (int i = 0; i < depth; i++)
        if (put(o, "  ", 2))
            return -1;
    return 0;
}

/* ------------------------------------------------------------ the scanner */

struct scan {
    const char *s, *end;
};

static void skip_ws(struct scan *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1; /* upper case is not what json.dumps writes */
}

/* A string token exactly as json.dumps(ensure_ascii=True) writes it. */
static int scan_string(struct scan *c, struct span *tok)
{
    const char *start = c->s;
    if (c->s >= c->end || *c->s != '"')
        return -1;
    c->s++;
    while (c->s < c->end && *c->s != '"') {
        unsigned char ch = (unsigned char)*c->s;
        if (ch < 0x20 || ch > 0x7e)
            return -1;
        if (ch == '\\') {
            if (c->s + 1 >= c->end)
                return -1;
            char e = c->s[1];
            if (e == '"' || e == '\\' || e == 'n' || e == 'r' || e == 't' || e == 'b' || e == 'f') {
                c->s += 2;
                continue;
            }
            if (e != 'u' || c->s + 6 > c->end)
                return -1;
            int v = 0;
            for (int i = 2; i < 6; i++) {
                int h = hexval(c->s[i]);
                if (h < 0)
                    return -1;
                v = v * 16 + h;
            }
            /* json.dumps escapes with \uXXXX only what has no short escape
             * and is not printable ASCII. */
            if ((v >= 0x20 && v <= 0x7e) || v == '\b' || v == '\t' || v == '\n' || v == '\f' || v == '\r')
                return -1;
            c->s += 6;
            continue;
        }
        c->s++;
    }
    if (c->s >= c->end)
        return -1;
    c->s++;
    tok->p = start;
    tok->n = (size_t)(c->s - start);
    return 0;
}

/* An integer as int() then repr() would give it back: no "-0", no leading zeros. */
static int scan_int(struct scan *c, struct span *tok)
{
    const char *start = c->s;
    if (c->s < c->end && *c->s == '-')
        c->s++;
    const char *digits = c->s;
    while (c->s < c->end && *c->s >= '0' && *c->s <= '9')
        c->s++;
    size_t n = (size_t)(c->s - digits);
    if (n == 0 || (digits[0] == '0' && n > 1) || (digits[0] == '0' && digits != start))
        return -1;
    if (c->s < c->end && (*c->s == '.' || *c->s == 'e' || *c->s == 'E'))
        return -1; /* floats: leave their formatting to Python */
    tok->p = start;
    tok->n = (size_t)(c->s - start);
    return 0;
}

static int scan_literal(struct scan *c, const char *word, struct span *tok)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->s) < n || memcmp(c->s, word, n) != 0)
        return -1;
    tok->p = c->s;
    tok->n = n;
    c->s += n;
    return 0;
}

static int span_is(struct span t, const char *text)
{
    return t.n == strlen(text) && memcmp(t.p, text, t.n) == 0;
}

/*
 * Copy one value, laid out as json.dumps(indent=2) does, into ``o`` (NULL:
 * only check it).  ``value`` receives the raw span of the value.
 */
static int pretty(struct scan *c, struct out *o, int depth, struct span *value)
{
    struct span tok;
    skip_ws(c);
    if (c->s >= c->end || depth > MAX_DEPTH)
        return -1;
    const char *start = c->s;
    char ch = *c->s;
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        struct span keys[MAX_KEYS];
        int count = 0;
        c->s++;
        skip_ws(c);
        if (c->s < c->end && *c->s == close) {
            c->s++;
            if (o && put(o, ch == '{' ? "{}" : "[]", 2))
                return -1;
        } else {
            if (o && put(o, &ch, 1))
                return -1;
            for (;;) {
                if (count >= MAX_KEYS)
                    return -1;
                if (o && ((count && put(o, ",", 1)) || put_indent(o, depth + 1)))
                    return -1;
                if (ch == '{') {
                    skip_ws(c);
                    if (scan_string(c, &keys[count]))
                        return -1;
                    for (int k = 0; k < count; k++) /* duplicates: Python keeps the last */
                        if (keys[k].n == keys[count].n && !memcmp(keys[k].p, keys[count].p, keys[k].n))
                            return -1;
                    skip_ws(c);
                    if (c->s >= c->end || *c->s != ':')
                        return -1;
                    c->s++;
                    if (o && (put(o, keys[count].p, keys[count].n) || put(o, ": ", 2)))
                        return -1;
                }
                count++;
                if (pretty(c, o, depth + 1, &tok))
                    return -1;
                skip_ws(c);
                if (c->s < c->end && *c->s == ',') {
                    c->s++;
                    continue;
                }
                if (c->s < c->end && *c->s == close) {
                    c->s++;
                    break;
                }
                return -1;
            }
            if (o && (put_indent(o, depth) || put(o, &close, 1)))
                return -1;
        }
    } else {
        int bad = ch == '"' ? scan_string(c, &tok)
                : ch == 't' ? scan_literal(c, "true", &tok)
                : ch == 'f' ? scan_literal(c, "false", &tok)
                : ch == 'n' ? scan_literal(c, "null", &tok)
                : scan_int(c, &tok);
        if (bad || (o && put(o, tok.p, tok.n)))
            return -1;
    }
    value->p = start;
    value->n = (size_t)(c->s - start);
    return 0;
}

/* ------------------------------------------------------------ the state */

struct doc {
    struct span pid, runtime, start_time, cgroups;
    int has_pid, has_runtime, has_status;
};

/* The top level: every value checked, "pid" and "runtime" remembered. */
static int read_top(const char *text, size_t len, struct doc *d)
{
    struct scan c = {text, text + len};
    struct span v;
    memset(d, 0, sizeof *d);
    skip_ws(&c);
    if (pretty(&c, NULL, 0, &v) || *v.p != '{')
        return -1;
    skip_ws(&c);
    if (c.s != c.end)
        return -1;
    /* Walk the (already validated) object again for the members we need. */
    c.s = v.p + 1;
    c.end = v.p + v.n;
    for (;;) {
        struct span key, value;
        skip_ws(&c);
        if (*c.s == '}')
            break;
        if (scan_string(&c, &key))
            return -1;
        skip_ws(&c);
        c.s++; /* ':' */
        if (pretty(&c, NULL, 1, &value))
            return -1;
        if (span_is(key, "\"pid\"")) {
            d->pid = value;
            d->has_pid = 1;
        } else if (span_is(key, "\"runtime\"")) {
            d->runtime = value;
            d->has_runtime = 1;
        } else if (span_is(key, "\"status\"")) {
            d->has_status = 1;
        }
        skip_ws(&c);
        if (*c.s == ',')
            c.s++;
    }
    if (!d->has_pid || !d->has_runtime || !d->has_status || *d->runtime.p != '{')
        return -1;
    /* runtime.init_start_time and runtime.cgroups */
    c.s = d->runtime.p + 1;
    c.end = d->runtime.p + d->runtime.n;
    for (;;) {
        struct span key, value;
        skip_ws(&c);
        if (*c.s == '}')
            break;
        if (scan_string(&c, &key))
            return -1;
        skip_ws(&c);
        c.s++;
        if (pretty(&c, NULL, 2, &value))
            return -1;
        if (span_is(key, "\"init_start_time\""))
            d->start_time = value;
        else if (span_is(key, "\"cgroups\""))
            d->cgroups = value;
        skip_ws(&c);
        if (*c.s == ',')
            c.s++;
    }
    return 0;
}

static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) { /* too big for the fast path */
            close(fd);
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    *len = n;
    return 0;
}

/* 1 alive, 0 not (gone, zombie, or another process with the pid), -1 give up. */
static int init_alive(const struct doc *d)
{
    char pidtext[32], path[64], stat[4096];
    size_t len;
    if (d->pid.n == 0 || d->pid.n >= sizeof pidtext || *d->pid.p < '0' || *d->pid.p > '9')
        return -1;
    memcpy(pidtext, d->pid.p, d->pid.n);
    pidtext[d->pid.n] = '\0';
    if (strcmp(pidtext, "0") == 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%s/stat", pidtext);
    if (read_file(path, stat, sizeof stat - 1, &len) < 0)
        return errno == ENOENT || errno == ESRCH ? 0 : -1;
    stat[len] = '\0';
    char *paren = strrchr(stat, ')');
    if (!paren || paren[1] != ' ' || !paren[2])
        return -1;
    char letter = paren[2];
    /* field 22 (starttime) is the 20th after the state letter */
    char *field = paren + 2;
    for (int i = 0; i < 19; i++) {
        field = strchr(field, ' ');
        if (!field)
            return -1;
        field++;
    }
    size_t digits = strspn(field, "0123456789");
    if (letter == 'Z' || letter == 'X')
        return 0;
    if (d->start_time.n == 0 || span_is(d->start_time, "null")) /* missing or null: never equal */
        return 0;
    if (*d->start_time.p < '0' || *d->start_time.p > '9')
        return -1; /* not what create records: let Python judge */
    return digits == d->start_time.n && memcmp(field, d->start_time.p, digits) == 0;
}

/* Like cgroups.is_frozen: 1 frozen, 0 not, -1 give up. */
static int frozen(const struct doc *d)
{
    if (d->cgroups.n == 0)
        return 0;
    if (*d->cgroups.p != '{')
        return -1;
    struct scan c = {d->cgroups.p + 1, d->cgroups.p + d->cgroups.n};
    for (;;) {
        struct span key, value;
        char ckey[256], path[4096], content[64];
        size_t len;
        skip_ws(&c);
        if (*c.s == '}')
            return 0;
        if (scan_string(&c, &key))
            return -1;
        skip_ws(&c);
        c.s++;
        skip_ws(&c);
        if (scan_string(&c, &value))
            return -1;
        if (memchr(key.p, '\\', key.n) || memchr(value.p, '\\', value.n) || key.n - 2 >= sizeof ckey)
            return -1;
        memcpy(ckey, key.p + 1, key.n - 2);
        ckey[key.n - 2] = '\0';
        const char *file = NULL, *want = NULL;
        if (strcmp(ckey, "unified") == 0) {
            file = "cgroup.freeze";
            want = "1";
        } else {
            for (char *part = strtok(ckey, ","); part; part = strtok(NULL, ","))
                if (strcmp(part, "freezer") == 0) {
                    file = "freezer.state";
                    want = "FROZEN";
                }
        }
        if (file) {
            if ((size_t)snprintf(path, sizeof path, "%.*s/%s", (int)(value.n - 2), value.p + 1, file)
                >= sizeof path)
                return -1;
            if (read_file(path, content, sizeof content - 1, &len) < 0) {
                if (errno != ENOENT)
                    return -1;
            } else {
                content[len] = '\0';
                char *s = content, *e = content + len; /* str.strip() */
                while (s < e && (*s == ' ' || (*s >= '\t' && *s <= '\r')))
                    s++;
                while (e > s && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
                    e--;
                if ((size_t)(e - s) == strlen(want) && memcmp(s, want, (size_t)(e - s)) == 0)
                    return 1;
            }
        }
        skip_ws(&c);
        if (*c.s == ',')
            c.s++;
    }
}

/* The public document: "runtime" left out, "status" (and "pid" when stopped) replaced. */
static int render(const char *text, size_t len, const char *status, struct out *o)
{
    struct scan c = {text, text + len};
    int first = 1;
    skip_ws(&c);
    c.s++; /* '{' */
    if (put(o, "{", 1))
        return -1;
    for (;;) {
        struct span key, value;
        skip_ws(&c);
        if (*c.s == '}')
            break;
        scan_string(&c, &key);
        skip_ws(&c);
        c.s++;
        if (span_is(key, "\"runtime\"")) {
            if (pretty(&c, NULL, 1, &value))
                return -1;
        } else {
            if ((!first && put(o, ",", 1)) || put_indent(o, 1) || put(o, key.p, key.n) || put(o, ": ", 2))
                return -1;
            first = 0;
            if (span_is(key, "\"status\"")) {
                if (pretty(&c, NULL, 1, &value) || put(o, "\"", 1) || put(o, status, strlen(status))
                    || put(o, "\"", 1))
                    return -1;
            } else if (span_is(key, "\"pid\"") && strcmp(status, "stopped") == 0) {
                if (pretty(&c, NULL, 1, &value) || put(o, "0", 1))
                    return -1;
            } else if (pretty(&c, o, 1, &value)) {
                return -1;
            }
        }
        skip_ws(&c);
        if (*c.s == ',')
            c.s++;
    }
    if (first)
        return put(o, "}", 1); /* json.dumps({}, indent=2) == "{}" */
    return put_indent(o, 0) || put(o, "}", 1) ? -1 : 0;
}

/* ------------------------------------------------------------ the command */

static int valid_id(const char *id)
{
    if (!*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.-") == strlen(id);
}

/* argv -> root and id for `[global flags] state <id>`; 0 if that is what it is. */
static int parse_args(int argc, char **argv, const char **root, const char **id)
{
    static const char *with_value[] = {"root", "log", "log-format", "rootless", "criu", NULL};
    *root = "/run/oci-runtime";
    int i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1]) {
        const char *name = argv[i] + (argv[i][1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        int known = 0;
        for (int k = 0; with_value[k]; k++) {
            if (strlen(with_value[k]) == n && strncmp(name, with_value[k], n) == 0) {
                const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
                if (!value)
                    return -1;
                if (k == 0)
                    *root = value;
                if (k == 2 && strcmp(value, "text") != 0 && strcmp(value, "json") != 0)
                    return -1;
                known = 1;
            }
        }
        if (!known && !eq && (strcmp(name, "debug") == 0 || strcmp(name, "systemd-cgroup") == 0))
            known = 1;
        if (!known)
            return -1; /* --version, --help, bool=value, unknown, "--": Python */
        i++;
    }
    if (argc - i != 2 || strcmp(argv[i], "state") != 0 || argv[i + 1][0] == '-' || !valid_id(argv[i + 1]))
        return -1;
    *id = argv[i + 1];
    return 0;
}

int fast_state(int argc, char **argv)
{
    const char *root, *id;
    char path[4096];
    size_t len;
    if (parse_args(argc, argv, &root, &id) || !*root)
        return FALLBACK;
    if ((size_t)snprintf(path, sizeof path, "%s/%s/lock", root, id) >= sizeof path)
        return FALLBACK;
    int lock = open(path, O_RDWR | O_CLOEXEC);
    if (lock < 0)
        return FALLBACK;
    while (flock(lock, LOCK_EX) < 0)
        if (errno != EINTR) {
            close(lock);
            return FALLBACK;
        }
    char *text = malloc(MAX_DOC);
    struct doc d;
    struct out o = {0};
    const char *status = NULL;
    snprintf(path, sizeof path, "%s/%s/state.json", root, id);
    if (text && read_file(path, text, MAX_DOC, &len) == 0 && read_top(text, len, &d) == 0) {
        int alive = init_alive(&d);
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/exec.fifo", root, id);
        if (alive == 0) {
            status = "stopped";
        } else if (alive == 1) {
            if (stat(path, &st) == 0)
                status = "created";
            else {
                int f = frozen(&d);
                status = f == 1 ? "paused" : f == 0 ? "running" : NULL;
            }
        }
    }
    close(lock);
    if (!status || render(text, len, status, &o) || put(&o, "\n", 1))
        return FALLBACK;
    /* Python ignores SIGPIPE and reports a failed flush as exit status 120. */
    signal(SIGPIPE, SIG_IGN);
    for (size_t done = 0; done < o.n;) {
        ssize_t w = write(1, o.p + done, o.n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "Exception ignored in: <_io.TextIOWrapper name='<stdout>' mode='w' "
                            "encoding='utf-8'>\nBrokenPipeError: [Errno %d] %s\n", errno, strerror(errno));
            return 120;
        }
        done += (size_t)w;
    }
    return 0;
}
