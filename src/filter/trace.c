/*
 * The trace filter: one log line per operation, with the requesting pid,
 * the inode and name, the result and the latency. Off unless --trace;
 * it sits on top so the latency covers every layer below.
 */
#include "common.h"

#include "filter/filter.h"
#include "util/log.h"
#include "util/util.h"

static bool trace_enabled(const struct filter_env *env)
{
	return env->trace;
}

static enum filter_verdict trace_pre(struct filter *f, struct fop *op)
{
	op->start_ns = util_now_mono_ns();
	return FILTER_PASS;
}

static void trace_post(struct filter *f, struct fop *op)
{
	int64_t ns = util_now_mono_ns() - op->start_ns;

	log_info("trace: %s ino=%llu%s%s pid=%d off=%llu size=%zu -> %d%s%s "
		 "(%.3f ms)", fop_name(op->kind), (unsigned long long)op->ino,
		 op->name ? " name=" : op->newname ? " xattr=" : "",
		 op->name ? op->name : op->newname ? op->newname : "",
		 (int)op->pid, (unsigned long long)op->off, op->size,
		 op->result, op->result < 0 ? " " : "",
		 op->result < 0 ? strerror(-op->result) : "", (double)ns / 1e6);
}

/* Reads and writes on the fast path never reach the stack: no line of
 * them could be logged. */
static const char *trace_fastpath(struct filter *f, const struct fop *op)
{
	return "trace filter on";
}

const struct filter_ops trace_filter = {
	.name = "trace",
	.enabled = trace_enabled,
	.pre = trace_pre,
	.post = trace_post,
	.fastpath = trace_fastpath,
};
