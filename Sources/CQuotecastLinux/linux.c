#define _GNU_SOURCE 1
#include "quotecast_linux.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t qc_abstract_address(const char *name, struct sockaddr_un *address) {
  memset(address, 0, sizeof(*address));
  address->sun_family = AF_UNIX;
  size_t length = strnlen(name, sizeof(address->sun_path) - 1);
  memcpy(address->sun_path + 1, name, length);  // sun_path[0] = 0: the abstract namespace
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + length);
}

int qc_set_current_thread_nice(int nice) {
  return setpriority(PRIO_PROCESS, (id_t)gettid(), nice) == 0 ? 0 : -errno;
}

int qc_set_current_thread_idle_policy(void) {
  struct sched_param param = {.sched_priority = 0};
  return sched_setscheduler(0, SCHED_IDLE, &param) == 0 ? 0 : -errno;
}

int qc_claim_abstract_name(const char *name) {
  struct sockaddr_un address;
  socklen_t length = qc_abstract_address(name, &address);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&address, length) != 0 || listen(fd, 4) != 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

int qc_abstract_name_holder(const char *name) {
  struct sockaddr_un address;
  socklen_t length = qc_abstract_address(name, &address);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int result;
  struct ucred credentials;
  socklen_t credentials_length = sizeof(credentials);
  if (connect(fd, (struct sockaddr *)&address, length) != 0) {
    result = -errno;
  } else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &credentials_length) != 0) {
    result = -errno;
  } else {
    result = credentials.pid;
  }
  close(fd);
  return result;
}

_Static_assert(sizeof(struct qc_mmsghdr) == sizeof(struct mmsghdr), "qc_mmsghdr must match mmsghdr");

int qc_sendmmsg(int fd, struct qc_mmsghdr *messages, unsigned int count, int flags) {
  return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}

unsigned int qc_udp_segment_control_bytes(void) { return CMSG_SPACE(sizeof(uint16_t)); }

void qc_set_udp_segment(struct msghdr *header, void *control, unsigned short segment_bytes) {
  memset(control, 0, CMSG_SPACE(sizeof(uint16_t)));
  header->msg_control = control;
  header->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
  struct cmsghdr *message = CMSG_FIRSTHDR(header);
  message->cmsg_level = SOL_UDP;
  message->cmsg_type = UDP_SEGMENT;
  message->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  memcpy(CMSG_DATA(message), &segment_bytes, sizeof(uint16_t));
}

int qc_pin_current_thread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return 22;  // EINVAL
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int qc_cpu_allowed(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return CPU_ISSET(cpu, &set) ? 1 : 0;
}

int qc_allowed_cpu_count(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
  return CPU_COUNT(&set);
}



__attribute__((weak)) uint64_t qc_thread_allocations(void) { return UINT64_MAX; }

int qc_set_direct_io(int fd, int on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  flags = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  return fcntl(fd, F_SETFL, flags) == 0 ? 0 : -errno;
}
