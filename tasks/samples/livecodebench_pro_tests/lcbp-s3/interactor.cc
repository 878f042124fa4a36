// Interactor for "Guess the Number" (written by the evalsuite project). testlib's calling
// convention (interactor input output answer; the program on stdin/stdout) and exit codes
// (0 accepted, 1 wrong answer, 3 failure). At most 31 queries "? x", answered "<", ">" or "=";
// the program ends with "! x".
#include <cstdio>
#include <cstdlib>
#include <cstring>

static FILE* tout;

static int verdict(int code, const char* msg) {
    std::fprintf(stderr, "%s\n", msg);
    if (tout) std::fprintf(tout, "%s\n", msg);
    return code;
}

int main(int argc, char** argv) {
    if (argc < 3) return verdict(3, "usage: interactor input output [answer]");
    FILE* in = std::fopen(argv[1], "r");
    tout = std::fopen(argv[2], "w");
    long long n, secret;
    if (!in || std::fscanf(in, "%lld %lld", &n, &secret) != 2) return verdict(3, "bad input");
    std::printf("%lld\n", n);
    std::fflush(stdout);
    for (int queries = 0;; ) {
        char kind[4];
        long long x;
        if (std::scanf("%3s %lld", kind, &x) != 2) return verdict(1, "wrong answer: unexpected end of the program's output");
        if (std::strcmp(kind, "!") == 0)
            return x == secret ? verdict(0, "ok: guessed") : verdict(1, "wrong answer: wrong guess");
        if (std::strcmp(kind, "?") != 0) return verdict(2, "presentation error: expected '?' or '!'");
        if (++queries > 31) return verdict(1, "wrong answer: more than 31 queries");
        std::printf("%s\n", x < secret ? "<" : x > secret ? ">" : "=");
        std::fflush(stdout);
    }
}
