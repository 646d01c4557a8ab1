// Linux calls that need _GNU_SOURCE (CPU affinity), behind plain prototypes.
#ifndef QUOTECAST_LINUX_H
#define QUOTECAST_LINUX_H

#include <sys/socket.h>

/// struct mmsghdr, which glibc shows only under _GNU_SOURCE.
struct qc_mmsghdr {
  struct msghdr msg_hdr;
  unsigned int msg_len;
};

/// sendmmsg(2): the number of messages sent, or -1 with errno set.
int qc_sendmmsg(int fd, struct qc_mmsghdr *messages, unsigned int count, int flags);

/// The control bytes one UDP_SEGMENT message needs (CMSG_SPACE of a 16-bit size).
unsigned int qc_udp_segment_control_bytes(void);
/// Points `header`'s control at `control` (qc_udp_segment_control_bytes() long), holding one
/// UDP_SEGMENT of `segment_bytes`.
void qc_set_udp_segment(struct msghdr *header, void *control, unsigned short segment_bytes);

/// Pins the calling thread to one CPU: 0, or an errno.
/// Binds and listens on the abstract Unix socket `name` (a host-wide, per network namespace name the
/// kernel frees when the process exits). Returns the fd, or -errno (-EADDRINUSE: someone holds it).
int qc_claim_abstract_name(const char *name);

/// The pid of the process listening on the abstract Unix socket `name`, or -errno.
int qc_abstract_name_holder(const char *name);

int qc_pin_current_thread(int cpu);

/// Turns O_DIRECT on or off for `fd` (writes then bypass the page cache, and must be aligned);
/// 0, or -errno (-EINVAL where the file system does not do direct I/O).
int qc_set_direct_io(int fd, int on);

/// Sets the calling thread's nice value (Linux schedules threads by their own); 0 or -errno.
int qc_set_current_thread_nice(int nice);

/// Puts the calling thread under SCHED_IDLE: it runs only when no other thread wants the core, and
/// a waking thread of any other policy preempts it at once; 0 or -errno.
int qc_set_current_thread_idle_policy(void);
/// 1 if this process may run on `cpu`, else 0.
int qc_cpu_allowed(int cpu);
/// How many CPUs this process may run on, or -1.
int qc_allowed_cpu_count(void);

#include <stdint.h>

/// Heap allocations made by the calling thread, when a malloc counter is linked in (the tests'
/// CMallocCounter overrides this weak definition); UINT64_MAX when nothing counts.
uint64_t qc_thread_allocations(void);

#endif
