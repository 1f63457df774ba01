/* Redis computes INCRBYFLOAT, HINCRBYFLOAT and blocking timeouts in C's
 * `long double` (80-bit on x86-64). Rust has no such type, so these few
 * operations are done here, in C, exactly as Redis 7.0 does them, to give
 * byte-identical replies. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Redis's string2ld: 1 on success. */
static int string2ld(const char *s, size_t slen, long double *dp) {
    char buf[MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        ((errno == ERANGE) && (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        isnan(value))
        return 0;
    if (dp) *dp = value;
    return 1;
}

/* Redis's ld2string in LD_STR_HUMAN mode. Returns the length or 0. */
static int ld2string_human(char *buf, size_t len, long double value) {
    size_t l;
    if (isinf(value)) {
        if (len < 5) return 0;
        if (value > 0) { memcpy(buf, "inf", 3); l = 3; }
        else { memcpy(buf, "-inf", 4); l = 4; }
    } else {
        int n = snprintf(buf, len, "%.17Lf", value);
        if (n < 0 || (size_t)n + 1 > len) return 0;
        l = (size_t)n;
        if (strchr(buf, '.') != NULL) {
            char *p = buf + l - 1;
            while (*p == '0') { p--; l--; }
            if (*p == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') { buf[0] = '0'; l = 1; }
    }
    if (l + 1 > len) return 0;
    buf[l] = '\0';
    return (int)l;
}

/* A double, widened to long double, as ld2string LD_STR_HUMAN prints it
 * (addReplyHumanLongDouble: GEOPOS coordinates). Returns the length or 0. */
int picket_ld_human(double value, char *out, size_t outcap) {
    return ld2string_human(out, outcap, (long double)value);
}

/* cur (may be NULL for "0") + incr. Returns 0 ok (text in out, length in
 * *outlen), 1 current value not a float, 2 increment not a float,
 * 3 result NaN or infinite, 4 no room. */
int picket_ld_incr(const char *cur, size_t curlen, const char *incr, size_t incrlen,
                   char *out, size_t outcap, size_t *outlen) {
    long double a = 0, b = 0;
    if (cur && !string2ld(cur, curlen, &a)) return 1;
    if (!string2ld(incr, incrlen, &b)) return 2;
    a += b;
    if (isnan(a) || isinf(a)) return 3;
    int l = ld2string_human(out, outcap, a);
    if (l == 0) return 4;
    *outlen = (size_t)l;
    return 0;
}

/* Whether a string parses as a long double (Redis's string2ld). */
int picket_is_ld(const char *s, size_t len) {
    return string2ld(s, len, NULL);
}

/* Redis's getTimeoutFromObjectOrReply for seconds: 0 ok (*ms set, may be
 * negative), 1 not a float. Same conversion as Redis, including what x86
 * gives for out-of-range values. */
int picket_timeout_ms(const char *s, size_t len, long long *ms) {
    long double v;
    if (!string2ld(s, len, &v)) return 1;
    *ms = (long long)(v * 1000.0);
    return 0;
}
