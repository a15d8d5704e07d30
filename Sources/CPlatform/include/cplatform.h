// Linux calls that Swift's Glibc module does not expose.
#ifndef CPLATFORM_H
#define CPLATFORM_H

/// Atomically swaps two existing paths (renameat2 with RENAME_EXCHANGE). Returns 0, or -1 with errno set.
int med_rename_exchange(const char *from, const char *to);

#endif
