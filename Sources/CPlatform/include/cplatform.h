// Linux calls that Swift's Glibc module does not expose.
#ifndef CPLATFORM_H
#define CPLATFORM_H

/// Atomically swaps two existing paths (renameat2 with RENAME_EXCHANGE). Returns 0, or -1 with errno set.
int med_rename_exchange(const char *from, const char *to);

/// Makes the calling process receive SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), and restores the
/// default actions of SIGINT and SIGTERM, which a parent that handles them itself passes on as ignored.
/// Returns 0, or -1 with errno set.
int med_die_with_parent(void);

#endif
