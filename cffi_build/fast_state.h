/* The launcher's fast path for `oci-runtime state` (fast_state.c). */
#ifndef OCI_FAST_STATE_H
#define OCI_FAST_STATE_H

#define FALLBACK (-1)

/* The exit status if this call was `[global flags] state <id>` and was
 * answered here; FALLBACK if Python must handle it (nothing was printed). */
int fast_state(int argc, char **argv);

#endif
