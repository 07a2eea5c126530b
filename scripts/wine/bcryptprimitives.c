/* A stand-in for Windows' bcryptprimitives.dll, for running tests under wine 8 (Debian 12),
 * which lacks that DLL. Rust's standard library (1.78 and later) takes its random bytes from
 * ProcessPrng there; this one forwards to RtlGenRandom (advapi32's SystemFunction036), the
 * system's cryptographic generator that wine does have. Built by scripts/cross-test.sh with
 * mingw-w64 into the test wine prefix only; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
