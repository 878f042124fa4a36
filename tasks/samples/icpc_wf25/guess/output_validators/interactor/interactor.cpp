// Kattis protocol: interactor input answer feedback_dir; the program's output on stdin, its input
// on stdout; exit 42 accepted, 43 wrong answer.
#include <cstdio>
#include <cstring>
#include <string>
int main(int argc, char** argv) {
    if (argc < 4) return 1;
    FILE* in = std::fopen(argv[1], "r");
    long long n, x;
    if (!in || std::fscanf(in, "%lld %lld", &n, &x) != 2) return 1;
    std::printf("%lld\n", n); std::fflush(stdout);
    for (int q = 0; q < 31; q++) {
        char op[8]; long long y;
        if (std::scanf("%7s %lld", op, &y) != 2 || std::strcmp(op, "?") != 0) { std::fprintf(stderr, "bad question\n"); return 43; }
        if (y == x) { std::printf("=\n"); std::fflush(stdout); return 42; }
        std::printf(x < y ? "<\n" : ">\n"); std::fflush(stdout);
    }
    std::fprintf(stderr, "too many questions\n");
    return 43;
}
