// libxxhash (Debian's libxxhash-dev): XXH3 through the library's x86 dispatcher, which picks the widest vector
// unit the processor has (AVX-512, AVX2 or SSE2) at run time.
#include <xxhash.h>
#include <xxh_x86dispatch.h>
