/* The two loops over every weight, compiled: writing a block of float32 weights as <row>/<c> XML, and reading
 * numbers back from the writer's own form. Each is the same arithmetic, step for step, as the NumPy code it
 * stands for (xlsx/numbers.py and xlsx/numbers_in.py; the powers of ten come from that code's own table), so the
 * bytes and the float64 values are identical: tests/test_speedups.py compares them. Where an input is not of the
 * kind handled here (a non-finite weight, another program's number form) a function returns -1 and the caller
 * takes the NumPy path. The GIL is released while a function runs, so the worker threads use both cores.
 *
 * Built by setup.py as an optional extension: without a C compiler xlgpt installs and runs on the NumPy path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tables of xlgpt/sheet/powers.py, handed over once by set_powers() and set_ld_powers(): 10.0 ** (i - 300),
 * and 10 ** (i - 350) in extended precision. */
static double POW10[601];
static long double LD_POW10[701];
static int have_powers = 0, have_ld_powers = 0;

/* Copy a table handed over as bytes into `table` (`size` bytes), or set ValueError saying `expected`. */
static PyObject *set_table(PyObject *args, void *table, size_t size, int *have, const char *expected) {
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b)) return NULL;
    if (b.len != (Py_ssize_t)size) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, expected);
        return NULL;
    }
    memcpy(table, b.buf, size);
    PyBuffer_Release(&b);
    *have = 1;
    Py_RETURN_NONE;
}

static PyObject *set_powers(PyObject *self, PyObject *args) {
    return set_table(args, POW10, sizeof(POW10), &have_powers, "601 float64 powers of ten expected");
}

static PyObject *set_ld_powers(PyObject *self, PyObject *args) {
    if (sizeof(long double) != 16) {
        PyErr_SetString(PyExc_ValueError, "long double is not 16 bytes here");
        return NULL;
    }
    return set_table(args, LD_POW10, sizeof(LD_POW10), &have_ld_powers,
                     "701 extended-precision powers of ten (16 bytes each) expected");
}

/* Whether the tables a function needs were handed over; else a RuntimeError is set. */
static int tables_ready(int extended) {
    if (have_powers && (have_ld_powers || !extended)) return 1;
    PyErr_SetString(PyExc_RuntimeError, "set_powers() (and set_ld_powers() for cells_rows) first");
    return 0;
}

/* cells.decimal_value for one value: the float64 nearest to mant * 10**(exp - digits + 1). */
static double decimal_value(double mant, int64_t exp, int digits) {
    int64_t power = (digits - 1) - exp;
    if (power > 22 || power < -22) { /* beyond exact powers of ten: parsed as text, correctly rounded */
        char text[64];
        snprintf(text, sizeof text, "%lde%ld", (long)(int64_t)mant, (long)(-power));
        return strtod(text, NULL);
    }
    return power >= 0 ? mant / POW10[power + 300] : mant * POW10[-power + 300];
}

/* rint(y) for 0 <= y < 2**52, as the FPU rounds: adding 2**52 leaves no bits below the unit, rounded to nearest,
 * ties to even (the default mode, which NumPy's rint uses too); inline, where rint() is a call without SSE4.1. */
static inline double rint_small(double y) {
    volatile double big = 4503599627370496.0; /* volatile: the sum must be rounded, not folded away */
    return (y + big) - big;
}

/* rint(a * 10**power) as int64 (cells._scaled: the table holds every power a float32 needs; the products are
 * below 1e10, so rint_small applies). */
static int64_t scaled(double a, int64_t power) { return (int64_t)rint_small(a * POW10[power + 300]); }

/* cells.decimals for one float32 t >= 0: the mantissa of 9 digits, the exponent and the digits written. */
static void decimal_of(float t, int64_t *mant_out, int64_t *exp_out, int *digits_out) {
    double a = (double)t;
    int zero = a == 0;
    if (zero) a = 1.0;
    int64_t bits;
    memcpy(&bits, &a, 8);
    int64_t e2 = ((bits >> 52) & 0x7FF) - 1023;
    int64_t k = (e2 * 78913) >> 18; /* floor(e2 * log10(2)) */
    int64_t idx = k + 301;
    if (idx < 0) idx = 0;
    if (idx > 600) idx = 600;
    k += a >= POW10[idx];
    int64_t e = k;
    int64_t mant = scaled(a, 8 - e);
    if (mant < 100000000 || mant >= 1000000000) {
        int64_t e1 = e + (mant >= 1000000000 ? 1 : -1);
        int64_t m = scaled(a, 8 - e1);
        int carry = m >= 1000000000;
        e = e1 + carry;
        mant = carry ? m / 10 : m;
    }
    double m9f = (double)mant, best = m9f;
    int digits = 9;
    /* round to 8 digits: floor((m9 + 5) / 10) in float64, as numbers.py computes it, is the integer quotient
     * (the quotient's fraction is a multiple of 0.1, far more than half a unit from the next integer) */
    double m = (double)((mant + 5) / 10);
    double value = decimal_value(m, e, 8);
    if (m < 1e8 && (float)value == t) {
        best = m * 10.0;
        digits = 8;
    }
    if (zero) {
        best = 0;
        e = 0;
        digits = 1;
    }
    *mant_out = (int64_t)best;
    *exp_out = e;
    *digits_out = digits;
}

/* "00" .. "99" */
static const char DIGIT_PAIRS[100][2] = {
#define PAIRS(t) {t, '0'}, {t, '1'}, {t, '2'}, {t, '3'}, {t, '4'}, {t, '5'}, {t, '6'}, {t, '7'}, {t, '8'}, {t, '9'}
    PAIRS('0'), PAIRS('1'), PAIRS('2'), PAIRS('3'), PAIRS('4'), PAIRS('5'), PAIRS('6'), PAIRS('7'), PAIRS('8'), PAIRS('9'),
#undef PAIRS
};

/* Bytes format_rows may write past the end of its last piece (fixed-size copies, see there). */
#define FIXED_SLACK 8

static char *put_uint(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static int col_letters(int64_t col, char *out) { /* 0 -> A, 26 -> AA */
    char tmp[8];
    int n = 0;
    col += 1;
    while (col > 0) {
        int64_t r = (col - 1) % 26;
        tmp[n++] = (char)('A' + r);
        col = (col - 1) / 26;
    }
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* format_rows(float32 block [rows, cols] C-contiguous, first_row, out) -> bytes written, or -1 (a value that is
 * not finite, or out too small). The bytes of numbers.rows_bytes: <row r="N"> then each cell
 * <c r="{col}{N}"><v>{[-]d[.ddddddd[d]]}E{+-}dd</v></c>, then </row>. */
static PyObject *format_rows(PyObject *self, PyObject *args) {
    Py_buffer x, out;
    long long first_row;
    Py_ssize_t rows, cols;
    if (!tables_ready(0)) return NULL;
    if (!PyArg_ParseTuple(args, "y*nnLw*", &x, &rows, &cols, &first_row, &out)) return NULL;
    Py_ssize_t written = -1;
    if (x.len != rows * cols * 4) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "the block is not rows x cols float32 values");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    const float *v = (const float *)x.buf;
    char *p = (char *)out.buf, *end = p + out.len;
    /* Short pieces of variable length (a column's letters, the row number, the digits) are copied as a fixed 4
     * or 8 bytes and the pointer moved by their length: a fixed-size memcpy is one store, a variable one a call,
     * and these calls were most of the loop's time. The few bytes written past a piece are overwritten by the
     * next; out has room for them (FIXED_SLACK). */
    char letters[16384][4];
    unsigned char nletters[16384];
    int ok = cols <= 16384;
    for (Py_ssize_t c = 0; ok && c < cols; c++) nletters[c] = (unsigned char)col_letters(c, letters[c]);
    for (Py_ssize_t r = 0; ok && r < rows; r++) {
        char row[24];
        int nrow = (int)(put_uint(row, (uint64_t)(first_row + r + 1)) - row);
        if (nrow > 8 || end - p < 18 + 6 + cols * 44 + FIXED_SLACK) {
            ok = 0;
            break;
        }
        memcpy(p, "<row r=\"", 8);
        p += 8;
        memcpy(p, row, 8);
        p += nrow;
        *p++ = '"';
        *p++ = '>';
        for (Py_ssize_t c = 0; c < cols; c++) {
            float f = v[r * cols + c];
            if (!isfinite(f)) {
                ok = 0;
                break;
            }
            int64_t mant, e;
            int digits;
            decimal_of(fabsf(f), &mant, &e, &digits);
            memcpy(p, "<c r=\"", 6);
            p += 6;
            memcpy(p, letters[c], 4);
            p += nletters[c];
            memcpy(p, row, 8);
            p += nrow;
            memcpy(p, "\"><v>", 5);
            p += 5;
            if (signbit(f) && f != 0) *p++ = '-';
            *p++ = (char)('0' + mant / 100000000);
            if (digits > 1) {
                uint32_t rest = (uint32_t)(mant % 100000000), hi = rest / 10000, lo = rest % 10000;
                char d[8];
                memcpy(d, DIGIT_PAIRS[hi / 100], 2);
                memcpy(d + 2, DIGIT_PAIRS[hi % 100], 2);
                memcpy(d + 4, DIGIT_PAIRS[lo / 100], 2);
                memcpy(d + 6, DIGIT_PAIRS[lo % 100], 2);
                *p++ = '.';
                memcpy(p, d, 8);
                p += digits - 1;
            }
            *p++ = 'E';
            *p++ = e < 0 ? '-' : '+';
            int64_t ae = e < 0 ? -e : e;
            memcpy(p, DIGIT_PAIRS[ae], 2);
            p += 2;
            memcpy(p, "</v></c>", 8);
            p += 8;
        }
        if (!ok) break;
        memcpy(p, "</row>", 6);
        p += 6;
    }
    if (ok) written = p - (char *)out.buf;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    return PyLong_FromSsize_t(written);
}

/* The writer's number form at b[*at]: [-]d[.d{1,8}]E{+-}dd, as numbers_in._fixed_form reads it (the digits after
 * the point as an eight-digit integer, then decimal_value of 9 digits). On success *at is just past the exponent. */
static int parse_number(const unsigned char *b, Py_ssize_t len, Py_ssize_t *at, double *value) {
    Py_ssize_t i = *at;
    int neg = i < len && b[i] == '-';
    i += neg;
    if (i + 1 >= len || b[i] < '0' || b[i] > '9') return 0;
    double mant = (double)(b[i] - '0') * 1e8;
    i++;
    if (b[i] == '.') {
        int k = 0;
        int64_t frac = 0;
        i++;
        while (i < len && k < 8 && b[i] >= '0' && b[i] <= '9') {
            frac = frac * 10 + (b[i] - '0');
            i++;
            k++;
        }
        if (k == 0) return 0;
        for (int z = k; z < 8; z++) frac *= 10;
        mant += (double)frac;
    }
    if (i + 4 > len || b[i] != 'E' || (b[i + 1] != '+' && b[i + 1] != '-') || b[i + 2] < '0' || b[i + 2] > '9' ||
        b[i + 3] < '0' || b[i + 3] > '9')
        return 0;
    int64_t exp = (b[i + 2] - '0') * 10 + (b[i + 3] - '0');
    if (b[i + 1] == '-') exp = -exp;
    double v = decimal_value(mant, exp, 9);
    *value = neg ? -v : v;
    *at = i + 4;
    return 1;
}

/* parse_fixed(body, values float64 out, starts int64 out) -> how many values, or -1 when the body is not
 * entirely in the writer's form (every 'v' byte in a <v> or </v>, each value [-]d[.d{1,8}]E{+-}dd): the
 * values of numbers_in._fixed_form, which the caller then uses instead. */
static PyObject *parse_fixed(PyObject *self, PyObject *args) {
    Py_buffer body, values, starts;
    if (!tables_ready(0)) return NULL;
    if (!PyArg_ParseTuple(args, "y*w*w*", &body, &values, &starts)) return NULL;
    Py_ssize_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *b = (const unsigned char *)body.buf;
    Py_ssize_t len = body.len, cap = values.len / 8;
    if (starts.len / 8 < cap) cap = starts.len / 8;
    double *vout = (double *)values.buf;
    int64_t *sout = (int64_t *)starts.buf;
    Py_ssize_t i = 0, last_m0 = -1;
    while (n >= 0) {
        const unsigned char *q = memchr(b + i, 'v', (size_t)(len - i));
        if (q == NULL) break;
        Py_ssize_t at = q - b;
        /* an opening <v> (the tags hold no other v) */
        if (at < 1 || at + 1 >= len || b[at - 1] != '<' || b[at + 1] != '>' || n >= cap) {
            n = -1;
            break;
        }
        Py_ssize_t s = at + 2, m0 = s + (s < len && b[s] == '-'), j = s;
        double value;
        /* the number, then </v> */
        if (!parse_number(b, len, &j, &value) || j + 4 > len || memcmp(b + j, "</v>", 4) != 0) {
            n = -1;
            break;
        }
        vout[n] = value;
        sout[n] = s;
        n++;
        last_m0 = m0;
        i = j + 3; /* past the v of </v> */
    }
    if (n > 0 && last_m0 + 10 > len) n = -1; /* as _fixed_form: each value's eight bytes after the point exist */
    if (n == 0) n = -1;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&body);
    PyBuffer_Release(&values);
    PyBuffer_Release(&starts);
    return PyLong_FromSsize_t(n);
}

/* parse_rows(piece, values out) -> (rows, cells a row, first row number), or None: a run of whole rows exactly
 * as format_rows writes them (<row r="N"> with consecutive N, cells from column A on, each addressed in order with
 * its own row's number, each value in the writer's form), nothing else in between. Anything else (another
 * program's attributes or spacing, a gap, a formula, a text) is None and the caller reads the piece the general
 * way (reader._dense_piece), which the values here equal wherever both take a piece. */
static int parse_uint(const unsigned char *b, Py_ssize_t len, Py_ssize_t *j, int64_t *out) {
    Py_ssize_t i = *j;
    int64_t v = 0;
    if (i >= len || b[i] < '1' || b[i] > '9') return 0; /* no sign, no leading zero */
    while (i < len && b[i] >= '0' && b[i] <= '9' && i - *j < 8) v = v * 10 + (b[i++] - '0');
    *j = i;
    *out = v;
    return 1;
}

static PyObject *parse_rows(PyObject *self, PyObject *args) {
    Py_buffer body, values;
    if (!tables_ready(0)) return NULL;
    if (!PyArg_ParseTuple(args, "y*w*", &body, &values)) return NULL;
    int64_t rows = 0, width = -1, first = 0;
    int ok = 1;
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *b = (const unsigned char *)body.buf;
    Py_ssize_t len = body.len, cap = values.len / 8, n = 0, i = 0;
    double *out = (double *)values.buf;
    while (ok && i < len) {
        int64_t r;
        const unsigned char *rowtext;
        Py_ssize_t rowlen;
        if (len - i < 9 || memcmp(b + i, "<row r=\"", 8) != 0) { ok = 0; break; }
        i += 8;
        rowtext = b + i;
        if (!parse_uint(b, len, &i, &r) || i + 2 > len || b[i] != '"' || b[i + 1] != '>') { ok = 0; break; }
        rowlen = (b + i) - rowtext;
        i += 2;
        if (rows == 0) first = r;
        else if (r != first + rows) { ok = 0; break; }
        int64_t c = 0;
        while (ok) {
            char letters[4];
            int nl;
            if (len - i >= 6 && memcmp(b + i, "</row>", 6) == 0) { i += 6; break; }
            if (len - i < 6 || memcmp(b + i, "<c r=\"", 6) != 0 || c >= 16384 || n >= cap) { ok = 0; break; }
            i += 6;
            nl = col_letters(c, letters);
            if (len - i < nl + rowlen + 5 || memcmp(b + i, letters, nl) != 0 ||
                memcmp(b + i + nl, rowtext, rowlen) != 0 || memcmp(b + i + nl + rowlen, "\"><v>", 5) != 0) {
                ok = 0;
                break;
            }
            i += nl + rowlen + 5;
            /* the number, then </v></c> */
            double value;
            if (!parse_number(b, len, &i, &value) || i + 8 > len || memcmp(b + i, "</v></c>", 8) != 0) {
                ok = 0;
                break;
            }
            out[n++] = value;
            i += 8;
            c++;
        }
        if (!ok) break;
        if (c == 0 || (width >= 0 && c != width)) { ok = 0; break; }
        width = c;
        rows++;
    }
    if (rows == 0) ok = 0;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&body);
    PyBuffer_Release(&values);
    if (!ok) Py_RETURN_NONE;
    return Py_BuildValue("LLL", (long long)rows, (long long)width, (long long)first);
}

/* written_values(float32 in, float64 out) -> 0, or -1 for a value that is not finite: cells.written_values, the
 * float64 a spreadsheet reads back from each weight's cell (copysign(decimal_value(m, e, 9), x)). */
static PyObject *written_values(PyObject *self, PyObject *args) {
    Py_buffer x, out;
    if (!tables_ready(0)) return NULL;
    if (!PyArg_ParseTuple(args, "y*w*", &x, &out)) return NULL;
    int result = 0;
    if (out.len != x.len * 2) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "out must hold a float64 for each float32");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    const float *v = (const float *)x.buf;
    double *o = (double *)out.buf;
    Py_ssize_t n = x.len / 4;
    for (Py_ssize_t i = 0; i < n; i++) {
        float f = v[i];
        if (!isfinite(f)) {
            result = -1;
            break;
        }
        int64_t mant, e;
        int digits;
        decimal_of(fabsf(f), &mant, &e, &digits);
        o[i] = copysign(decimal_value((double)mant, e, 9), (double)f);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    return PyLong_FromLong(result);
}

/* formula_cells.number_bytes for one finite float64: 17 significant digits scaled in extended precision, trailing
 * zeros dropped, an integer below 10**17 as its digits, no exponent of 0. Returns the bytes written. */
static int format17(double x, char *p) {
    char *start = p;
    double a = fabs(x);
    int zero = a == 0;
    if (zero) a = 1.0;
    int64_t bits;
    memcpy(&bits, &a, 8);
    int64_t e2 = ((bits >> 52) & 0x7FF) - 1023;
    int64_t e = (e2 * 78913) >> 18;
    int64_t idx = e + 301;
    if (idx < 0) idx = 0;
    if (idx > 600) idx = 600;
    e += a >= POW10[idx];
    if (e2 < -1000) e = (int64_t)floor(log10(a)); /* subnormal: as exponent_guess */
    long double al = (long double)a;
    int64_t m = (int64_t)rintl(al * LD_POW10[16 - e + 350]);
    for (int it = 0; it < 3; it++) {
        if (!(m < 10000000000000000LL || m >= 100000000000000000LL)) break;
        e += m >= 100000000000000000LL ? 1 : -1;
        m = (int64_t)rintl(al * LD_POW10[16 - e + 350]);
    }
    if (zero) {
        m = 0;
        e = 0;
    }
    int whole = x == rint(x) && e >= 0 && e <= 16 && !zero;
    char d[17];
    int64_t v = m;
    for (int i = 16; i >= 0; i--) {
        d[i] = (char)('0' + v % 10);
        v /= 10;
    }
    int digits = 17;
    while (digits > 1 && d[digits - 1] == '0') digits--;
    if (signbit(x) && !zero) *p++ = '-';
    *p++ = d[0];
    if (whole) {
        memcpy(p, d + 1, (size_t)e);
        p += e;
    } else if (digits > 1) {
        *p++ = '.';
        memcpy(p, d + 1, (size_t)(digits - 1));
        p += digits - 1;
    }
    if (!(zero || whole || e == 0)) {
        *p++ = 'E';
        *p++ = e < 0 ? '-' : '+';
        int64_t ae = e < 0 ? -e : e;
        if (ae >= 100) *p++ = (char)('0' + ae / 100);
        *p++ = (char)('0' + ae / 10 % 10);
        *p++ = (char)('0' + ae % 10);
    }
    return (int)(p - start);
}

/* cells_rows(float64 [rows, cols], first_col, first_row, middle, out, ends int64 scratch) -> list of bytes, or
 * None: formula_cells.rows_of_cells, each row's cells `<c r="{col}{row}{middle}{number}</v></c>` back to back,
 * a bytes per row (made here: slicing one bytes in Python cost a third as much as the formatting). None for a
 * value that is not finite or out too small. */
static PyObject *cells_rows(PyObject *self, PyObject *args) {
    Py_buffer x, middle, out, ends;
    Py_ssize_t rows, cols, first_col;
    long long first_row;
    if (!tables_ready(1)) return NULL;
    if (!PyArg_ParseTuple(args, "y*nnnLy*w*w*", &x, &rows, &cols, &first_col, &first_row, &middle, &out, &ends))
        return NULL;
    Py_ssize_t written = -1;
    PyObject *result = NULL;
    if (x.len != rows * cols * 8 || ends.len < rows * 8 || first_col < 0 || first_col + cols > 16384) {
        PyErr_SetString(PyExc_ValueError, "a block of rows x cols float64 in the sheet's columns expected");
        goto release;
    }
    Py_BEGIN_ALLOW_THREADS
    const double *v = (const double *)x.buf;
    int64_t *e_out = (int64_t *)ends.buf;
    char *p = (char *)out.buf, *end = p + out.len;
    Py_ssize_t cell_max = 6 + 3 + 8 + middle.len + 26 + 8;
    int ok = 1;
    for (Py_ssize_t r = 0; ok && r < rows; r++) {
        char row[24];
        int nrow = (int)(put_uint(row, (uint64_t)(first_row + r + 1)) - row);
        if (end - p < cols * cell_max) {
            ok = 0;
            break;
        }
        for (Py_ssize_t c = 0; c < cols; c++) {
            double f = v[r * cols + c];
            if (!isfinite(f)) {
                ok = 0;
                break;
            }
            char letters[4];
            int nl = col_letters(first_col + c, letters);
            memcpy(p, "<c r=\"", 6);
            p += 6;
            memcpy(p, letters, nl);
            p += nl;
            memcpy(p, row, nrow);
            p += nrow;
            memcpy(p, middle.buf, middle.len);
            p += middle.len;
            p += format17(f, p);
            memcpy(p, "</v></c>", 8);
            p += 8;
        }
        e_out[r] = p - (char *)out.buf;
    }
    if (ok) written = p - (char *)out.buf;
    Py_END_ALLOW_THREADS
    if (written < 0) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else if ((result = PyList_New(rows)) != NULL) {
        const char *base = (const char *)out.buf;
        const int64_t *row_end = (const int64_t *)ends.buf;
        for (Py_ssize_t r = 0; r < rows; r++) {
            Py_ssize_t start = r ? (Py_ssize_t)row_end[r - 1] : 0;
            PyObject *row = PyBytes_FromStringAndSize(base + start, (Py_ssize_t)row_end[r] - start);
            if (row == NULL) {
                Py_CLEAR(result);
                break;
            }
            PyList_SET_ITEM(result, r, row);
        }
    }
release:
    PyBuffer_Release(&x);
    PyBuffer_Release(&middle);
    PyBuffer_Release(&out);
    PyBuffer_Release(&ends);
    return result;
}

static PyMethodDef methods[] = {
    {"set_powers", set_powers, METH_VARARGS, "the 601 powers of ten (float64) the formulas below use"},
    {"format_rows", format_rows, METH_VARARGS, "float32 block -> <row> XML bytes in out; bytes written or -1"},
    {"parse_fixed", parse_fixed, METH_VARARGS, "<v> numbers of the writer's form -> float64; count or -1"},
    {"set_ld_powers", set_ld_powers, METH_VARARGS, "the 701 extended-precision powers of ten cells_rows uses"},
    {"cells_rows", cells_rows, METH_VARARGS, "float64 block -> formula cells with 17-digit values, a bytes per row; or None"},
    {"written_values", written_values, METH_VARARGS, "float32 -> the float64 its written decimal reads back as"},
    {"parse_rows", parse_rows, METH_VARARGS, "whole rows of the writer's form -> (rows, width, first row) or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_speedups", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
