/*
 * The parts of the kernel's FUSE ABI for passthrough that the system's
 * <linux/fuse.h> predates: protocol 7.40 (Linux 6.9), from the kernel's
 * include/uapi/linux/fuse.h and Documentation/filesystems/
 * fuse-passthrough.rst. Only what the front end uses; the rest comes
 * from <linux/fuse.h>.
 */
#ifndef CD_PASSTHROUGH_ABI_H
#define CD_PASSTHROUGH_ABI_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/fuse.h>

/* FUSE_PASSTHROUGH (1ULL << 37): init flag, bit 5 of flags2, which the
 * kernel reads only with FUSE_INIT_EXT in flags */
#define PT_INIT_FLAGS2_PASSTHROUGH	(1u << (37 - 32))
/* FOPEN_PASSTHROUGH: the open's reads, writes and mmap go to the
 * backing file named by fuse_open_out.backing_id */
#define PT_FOPEN_PASSTHROUGH		(1u << 7)

/* fuse_init_out of 7.40: max_stack_depth took the first unused word */
struct pt_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};

/* fuse_open_out of 7.40: backing_id took the padding */
struct pt_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

/* FUSE_DEV_IOC_BACKING_OPEN's argument: fd to back opens with; the
 * ioctl returns its id (> 0), needs CAP_SYS_ADMIN */
struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define PT_DEV_IOC_BACKING_OPEN	_IOW(229, 1, struct pt_backing_map)
#define PT_DEV_IOC_BACKING_CLOSE	_IOW(229, 2, uint32_t)

_Static_assert(sizeof(struct pt_init_out) == sizeof(struct fuse_init_out),
	       "fuse_init_out of 7.40 keeps its size");
_Static_assert(sizeof(struct pt_open_out) == sizeof(struct fuse_open_out),
	       "fuse_open_out of 7.40 keeps its size");

#endif
