/* Test-only fault injection for the OpenCL backend (issue: reliability).
 *
 * Compiled in only when meson's -Dfault_injection=true defines
 * RBPE_FAULT_INJECTION; a normal build has no switch to read and every
 * rbpe_fault_hit() is the constant 0.
 *
 * RBPE_FAULT=KIND:N[,KIND:N...] makes the N-th event of KIND (counted from 1
 * over the process) fail as the driver would report it:
 *   alloc    clCreateBuffer        -> CL_MEM_OBJECT_ALLOCATION_FAILURE
 *   build    clBuildProgram        -> CL_BUILD_PROGRAM_FAILURE
 *   enqueue  kernel launch, buffer read or write -> CL_OUT_OF_RESOURCES
 *   clblast  CLBlastSgemm          -> CLBlastOpenCLOutOfResources
 * RBPE_FAULT_COUNTS=FILE writes how many events of each kind happened (one
 * "KIND N" line each) when a backend is destroyed, so a test can aim its
 * faults over a whole run. */
#ifndef RBPE_FAULT_H
#define RBPE_FAULT_H

typedef enum {
  RBPE_FAULT_ALLOC,
  RBPE_FAULT_BUILD,
  RBPE_FAULT_ENQUEUE,
  RBPE_FAULT_CLBLAST,
  RBPE_FAULT_KINDS
} rbpe_fault_kind;

#ifdef RBPE_FAULT_INJECTION
/* Counts one event of KIND; nonzero when this one must fail. */
int rbpe_fault_hit(rbpe_fault_kind kind);
/* Writes the counts to $RBPE_FAULT_COUNTS, if set. */
void rbpe_fault_report(void);
#else
static inline int rbpe_fault_hit(rbpe_fault_kind kind) {
  (void)kind;
  return 0;
}
static inline void rbpe_fault_report(void) {}
#endif

#endif
