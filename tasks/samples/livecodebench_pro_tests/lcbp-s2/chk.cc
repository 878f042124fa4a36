// Checker for "Split Distinct" (written by the evalsuite project): any two distinct positive
// integers a, b with a + b = n are right. testlib's calling convention and exit codes
// (checker input output answer; 0 accepted, 1 wrong answer, 2 presentation error, 3 failure).
#include <cstdio>
#include <cstdlib>
#include <cstring>

static int verdict(int code, const char* msg) { std::fprintf(stderr, "%s\n", msg); return code; }

static bool read_int(FILE* f, long long* v) {
    char buf[32];
    if (std::fscanf(f, "%31s", buf) != 1) return false;
    char* end = nullptr;
    long long x = std::strtoll(buf, &end, 10);
    if (*end != '\0' || std::strlen(buf) > 19) return false;
    *v = x;
    return true;
}

int main(int argc, char** argv) {
    if (argc < 4) return verdict(3, "usage: chk input output answer");
    FILE* in = std::fopen(argv[1], "r");
    FILE* out = std::fopen(argv[2], "r");
    if (!in || !out) return verdict(3, "cannot open the input or the output");
    long long n, a, b, extra;
    if (!read_int(in, &n)) return verdict(3, "bad input");
    if (!read_int(out, &a) || !read_int(out, &b)) return verdict(2, "expected two integers");
    if (read_int(out, &extra)) return verdict(2, "extra tokens after the two integers");
    if (a <= 0 || b <= 0) return verdict(1, "wrong answer: a and b must be positive");
    if (a == b) return verdict(1, "wrong answer: a and b must differ");
    if (a + b != n) return verdict(1, "wrong answer: a + b != n");
    return verdict(0, "ok");
}
