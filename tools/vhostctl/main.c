// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl: inspect and drive vhost-lite devices.  One entry per verb.
 */
#include <stdio.h>
#include <string.h>

#include "vhostctl.h"

struct verb {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int argc, char **argv);
};

static const struct verb verbs[] = {
	{ "list", "[--json]",
	  "list open vhost-lite devices of all processes", cmd_list },
	{ "show", "PID:FD [--json]",
	  "show the state and counters of one device", cmd_show },
	{ "stats", "PID:FD [--watch SEC] [--count N] [--json]",
	  "per-virtqueue rates (kicks, calls, descriptors, packets, bytes/s,\n"
	  "\terrors): one sample over 1 s, or one every SEC s (N samples)",
	  cmd_stats },
	{ "serve-blk",
	  "--socket PATH --backing FILE [--queues N] [--read-only] [--serial S]\n"
	  "\t[--verbose]",
	  "serve QEMU's vhost-user-blk-pci on PATH with the kernel's\n"
	  "\t/dev/vhost-blk-lite, disk FILE (serve-blk --help)", cmd_serve_blk },
	{ "bench", "KIND --dev PATH ...", "measure a vhost node (bench --help)", cmd_bench },
};

static void print_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vhostctl VERB [ARGS]\n"
		   "       vhostctl --help\n\nverbs:\n");
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %s %s\n\t%s\n", verbs[i].name, verbs[i].args,
			verbs[i].help);
	fprintf(f, "\nDevices are found through /proc/PID/fdinfo/FD: a vhost-lite\n"
		   "device prints \"vhl-kind:\" there.  Reading other users'\n"
		   "processes needs root.  Exit status: 0 ok, 1 error, 2 usage.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		print_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		print_usage(stdout);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vhostctl: unknown verb '%s'\n", argv[1]);
	print_usage(stderr);
	return 2;
}
