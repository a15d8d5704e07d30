// Linux calls that Swift's Glibc module does not expose.
#ifndef CPLATFORM_H
#define CPLATFORM_H

/// Atomically swaps two existing paths (renameat2 with RENAME_EXCHANGE). Returns 0, or -1 with errno set.
int med_rename_exchange(const char *from, const char *to);

/// Makes the calling process receive SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), and restores the
/// default actions of SIGINT and SIGTERM, which a parent that handles them itself passes on as ignored.
/// Returns 0, or -1 with errno set.
int med_die_with_parent(void);

/// Hands memory that malloc holds free back to the system (malloc_trim(0)).
void med_release_free_memory(void);

/// One malloc arena for every thread; large blocks from the heap, kept between frees (PeakMemory.swift says why).
void med_malloc_policy(void);

#endif
