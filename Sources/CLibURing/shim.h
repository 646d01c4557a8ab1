// liburing (Debian's liburing-dev, 2.3) plus what Swift cannot import from it directly: the
// IOSQE_* flags (macros over a shifted enum) and small cqe helpers.
//
// The system headers come first: liburing.h defines _XOPEN_SOURCE/_GNU_SOURCE, and headers parsed
// under those would clash with the definitions Swift's Glibc module already has (fd_set). CPU
// pinning, which does need _GNU_SOURCE, lives in the CQuotecastLinux target instead.
#ifndef QUOTECAST_CLIBURING_SHIM_H
#define QUOTECAST_CLIBURING_SHIM_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// The kernel's uapi header first: liburing's own copy has the same include guard and is then
// skipped, so io_uring_sqe has one definition even when swift-system (under SwiftNIO) includes the
// kernel header in another module of the same program.
#include <linux/io_uring.h>
#include <liburing.h>

static const unsigned char QC_IOSQE_BUFFER_SELECT = (unsigned char)(1U << IOSQE_BUFFER_SELECT_BIT);
static const unsigned QC_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
static const unsigned QC_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;
static const unsigned QC_CQE_F_MORE = IORING_CQE_F_MORE;
static const unsigned QC_CQE_F_BUFFER = IORING_CQE_F_BUFFER;

static inline unsigned qc_cqe_buffer_id(const struct io_uring_cqe *cqe) { return cqe->flags >> IORING_CQE_BUFFER_SHIFT; }

/// Arms a multishot recvmsg on `fd` that picks buffers from group `group`.
static inline int qc_arm_recvmsg_multishot(struct io_uring *ring, int fd, struct msghdr *header, unsigned short group,
                                           unsigned long long user_data) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (sqe == NULL) return -EBUSY;
  io_uring_prep_recvmsg_multishot(sqe, fd, header, 0);
  sqe->flags |= QC_IOSQE_BUFFER_SELECT;
  sqe->buf_group = group;
  io_uring_sqe_set_data64(sqe, user_data);
  return 0;
}

/// Queues one sendmsg of `header` on `fd`; MSG_DONTWAIT makes a full socket buffer complete with
/// -EAGAIN instead of waiting for room.
static inline int qc_prep_sendmsg(struct io_uring *ring, int fd, const struct msghdr *header, unsigned flags,
                                  unsigned long long user_data) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (sqe == NULL) return -EBUSY;
  io_uring_prep_sendmsg(sqe, fd, header, flags);
  io_uring_sqe_set_data64(sqe, user_data);
  return 0;
}

// Kernel 6.2's SEND_ZC usage report, which liburing 2.3's headers predate.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif
static const unsigned QC_CQE_F_NOTIF = IORING_CQE_F_NOTIF;

/// Queues one zero-copy send of `length` bytes at `bytes`, inside registered buffer `buffer_index`,
/// on the connected socket `fd`, asking the kernel to report whether it had to copy after all.
static inline int qc_prep_send_zc_fixed(struct io_uring *ring, int fd, const void *bytes, size_t length,
                                        unsigned buffer_index, unsigned long long user_data) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  if (sqe == NULL) return -EBUSY;
  io_uring_prep_send_zc_fixed(sqe, fd, bytes, length, MSG_DONTWAIT, IORING_SEND_ZC_REPORT_USAGE, buffer_index);
  io_uring_sqe_set_data64(sqe, user_data);
  return 0;
}

/// 1 when a SEND_ZC notification says the kernel copied the bytes instead (as it must on loopback).
static inline int qc_notif_copied(const struct io_uring_cqe *cqe) {
  return (cqe->res & IORING_NOTIF_USAGE_ZC_COPIED) != 0 ? 1 : 0;
}

#endif
