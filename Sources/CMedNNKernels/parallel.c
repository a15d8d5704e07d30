// See cmednnkernels.h. MedNN's fork-join through OpenMP (LLVM's libomp, Debian's libomp-dev): its threads stay
// awake for a moment after each region, so the next one starts in about 2 µs. Dispatch's concurrentPerform, which
// this replaces, woke a parked worker for each region, about 40 µs on this 2-core VM, and a training step has 69
// regions (scoring three learners 138, MC-dropout's 15 passes 900): 5–7% of the step.
#include "cmednnkernels.h"

// libomp's entry points, declared here so that no compiler-versioned omp.h is needed.
int omp_get_thread_num(void);
int omp_get_num_threads(void);
void kmp_set_defaults(const char *settings);

void med_parallel_setup(void) {
    // After a region libomp's threads spin for KMP_BLOCKTIME (200 ms unless set) before they sleep: long enough
    // to take a core from the decoder processes and Dispatch's work in other stages. 1 ms covers the gaps between
    // the regions of a step. An environment variable of the user's still wins.
    kmp_set_defaults("KMP_BLOCKTIME=1");
}

void med_parallel(int workers, void (*body)(void *context, int worker), void *context) {
#pragma omp parallel num_threads(workers)
    {
        // A smaller team than asked for (a region inside a region runs on one thread) still runs every chunk.
        for (int w = omp_get_thread_num(); w < workers; w += omp_get_num_threads()) body(context, w);
    }
}
