/*
 * Included first by every .c file of clonedrive: feature macros, the
 * generated config.h and the list of banned functions.
 */
#ifndef CD_COMMON_H
#define CD_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64
#define FUSE_USE_VERSION 34

#include "config.h"

/*
 * The headers that declare the banned functions come before banned.h, so
 * their declarations are seen unmangled; later includes are no-ops.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CD_WUR __attribute__((warn_unused_result))
#define CD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CD_MAX(a, b) ((a) > (b) ? (a) : (b))

#include "util/banned.h"

#endif
