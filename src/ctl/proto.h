/*
 * The control protocol: what the CLI and the daemon say to each other over
 * the control socket of a mount (a SOCK_SEQPACKET Unix socket, so one
 * message is one packet, and open descriptors ride along as SCM_RIGHTS).
 *
 * A message, all integers little-endian:
 *
 *	offset 0  magic   "CDC" followed by the version byte (1)
 *	       4  op      u16: enum ctl_op
 *	       6  count   u16: number of fields, at most CTL_MAX_FIELDS
 *	       8  fields  count times: key u16 (enum ctl_key), length u32,
 *	                  then length bytes of value
 *
 * and nothing after the last field. A whole message is at most
 * CTL_MSG_MAX bytes. Values are bytes: strings carry no NUL and no
 * terminator, numbers are u64. Unknown keys are kept (a newer peer may
 * send them) and ignored by whoever does not know them; an unknown op is
 * answered with EOPNOTSUPP. A message that breaks any rule above is
 * refused whole (EBADMSG), a newer version with EPROTONOSUPPORT.
 *
 * A conversation: the client sends one request; the daemon answers with
 * zero or more PROGRESS messages (long operations: pin, hydrate, sync)
 * and then exactly one REPLY. A client that hangs up mid-way (Ctrl-C)
 * stops the operation at its next step; what was done stays done and
 * consistent (pin states are committed before any data moves).
 *
 * Requests (fields; PATH is relative to the mount root, absent or empty
 * for the root itself, never with "." or ".." components):
 *	STATUS   PATH?, FLAGS (CTL_F_JSON)
 *	PIN      PATH: pin the file or tree, then hydrate it, with progress
 *	UNPIN    PATH, FLAGS (CTL_F_INHERIT: back to unspecified, else
 *	         unpinned): eligible for eviction again
 *	FREE     PATH: drop the local data of what is in sync; refuses
 *	         (EBUSY, with a list in TEXT) what is dirty, pinned or mapped
 *	HYDRATE  PATH: fetch the file or tree without pinning, with progress
 *	SYNC     TIMEOUT_MS: poll the remote, wait for the journal to drain,
 *	         with progress (PENDING)
 *	CLONE    one PATH per descriptor passed with the message (SCM_RIGHTS,
 *	         at most CTL_MAX_FDS, open for reading, regular files): each
 *	         becomes a new file at its PATH, uploaded from the cache and
 *	         then dropped from it; the daemon reads only those descriptors.
 *	         Existing files are not replaced (EEXIST).
 * Replies: STATUS (0 or an errno) and TEXT (what to show the user; on
 * failure, what went wrong and what to do).
 * PROGRESS: BYTES_DONE, BYTES_TOTAL, FILES_DONE, FILES_TOTAL, PATH (the
 * file in hand, may be absent), PENDING (sync: operations left).
 */
#ifndef CD_CTL_PROTO_H
#define CD_CTL_PROTO_H

#include "common.h"

#define CTL_VERSION 1
#define CTL_MSG_MAX (64 * 1024)
#define CTL_MAX_FIELDS 64
#define CTL_HEADER 8
#define CTL_MAX_FDS 16

enum ctl_op {
	CTL_OP_REPLY = 1,	/* status, text */
	CTL_OP_STATUS,		/* path (optional), flags (CTL_F_JSON) */
	CTL_OP_PIN,		/* path */
	CTL_OP_UNPIN,		/* path */
	CTL_OP_FREE,		/* path */
	CTL_OP_HYDRATE,		/* path */
	CTL_OP_SYNC,		/* timeout_ms */
	CTL_OP_PROGRESS,	/* daemon to client, before the reply */
	CTL_OP_CLONE,		/* paths, with descriptors */
	CTL_OP_MAX
};

enum ctl_key {
	CTL_KEY_PATH = 1,	/* string: a path inside the mount */
	CTL_KEY_FLAGS,		/* u64: enum ctl_flags */
	CTL_KEY_TIMEOUT_MS,	/* u64 */
	CTL_KEY_STATUS,		/* u64: 0 or an errno (reply) */
	CTL_KEY_TEXT,		/* string: what to show the user (reply) */
	CTL_KEY_BYTES_DONE,	/* u64 (progress) */
	CTL_KEY_BYTES_TOTAL,	/* u64 (progress) */
	CTL_KEY_FILES_DONE,	/* u64 (progress) */
	CTL_KEY_FILES_TOTAL,	/* u64 (progress) */
	CTL_KEY_PENDING,	/* u64: remote operations left (progress) */
};

enum ctl_flags {
	CTL_F_JSON = 1 << 0,	/* status: answer in JSON */
	CTL_F_INHERIT = 1 << 1,	/* unpin: back to unspecified */
};

/* One field; value points into the buffer the message was decoded from
 * (or was built from), which must outlive it. */
struct ctl_field {
	uint16_t key;		/* enum ctl_key */
	uint32_t len;
	const uint8_t *value;
};

struct ctl_msg {
	uint16_t op;		/* enum ctl_op */
	uint16_t count;
	struct ctl_field fields[CTL_MAX_FIELDS];
};

/* Starts an empty message. */
void ctl_msg_init(struct ctl_msg *m, enum ctl_op op);
/* Adds a field whose value is borrowed; -E2BIG past CTL_MAX_FIELDS. */
int ctl_add_bytes(struct ctl_msg *m, enum ctl_key key, const void *value,
		  uint32_t len) CD_WUR;
int ctl_add_str(struct ctl_msg *m, enum ctl_key key, const char *s) CD_WUR;
/* Adds a u64; buf (8 bytes, the caller's) holds the encoded value. */
int ctl_add_u64(struct ctl_msg *m, enum ctl_key key, uint64_t v,
		uint8_t buf[8]) CD_WUR;

/* Writes m into buf; returns its length, or -E2BIG if it does not fit in
 * size or in CTL_MSG_MAX. */
ssize_t ctl_encode(const struct ctl_msg *m, void *buf, size_t size) CD_WUR;
/* Reads a message from buf; 0, -EBADMSG or -EPROTONOSUPPORT. On failure
 * m is left empty. Fields point into buf. */
int ctl_decode(const void *buf, size_t len, struct ctl_msg *m) CD_WUR;

/* The first field with key, or NULL. */
const struct ctl_field *ctl_find(const struct ctl_msg *m, enum ctl_key key);
/* A field as a u64: 0, -ENOENT if absent, -EBADMSG if not 8 bytes. */
int ctl_get_u64(const struct ctl_msg *m, enum ctl_key key,
		uint64_t *out) CD_WUR;
/* A field as a C string (copied, caller frees): 0, -ENOENT if absent,
 * -EBADMSG if it holds a NUL, -ENAMETOOLONG past max bytes. */
int ctl_get_str(const struct ctl_msg *m, enum ctl_key key, size_t max,
		char **out) CD_WUR;

#endif
