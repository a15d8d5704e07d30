#include <cblas.h>

// OpenBLAS's pthread build starts a thread per core as it loads, and each spins (sched_yield) for about 0.1 s
// before it sleeps: 70-90 ms of a core at every medad start, taken from ingest's first files. MedNN keeps
// OpenBLAS single-threaded (BLAS.swift), so Parallel stops those threads at once. The entry point is the one
// OpenBLAS's own fork handler calls; declared weak, so that a build without it (OpenMP) leaves them be.
extern int blas_thread_shutdown_(void) __attribute__((weak));
static inline void med_openblas_stop_threads(void) {
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}
