// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's fake owner address space: a few registered ranges are
 * "mapped", every other user address faults.
 */
#include <assert.h>

#include "fuzz_shim.h"

#define VHL_FUZZ_MAX_MAPS 4

static struct {
	uintptr_t start;
	size_t len;
} maps[VHL_FUZZ_MAX_MAPS];
static unsigned int nmaps;

void vhl_fuzz_map(const void *p, size_t len)
{
	assert(nmaps < VHL_FUZZ_MAX_MAPS);
	maps[nmaps].start = (uintptr_t)p;
	maps[nmaps].len = len;
	nmaps++;
}

void vhl_fuzz_unmap_all(void)
{
	nmaps = 0;
}

bool vhl_fuzz_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	unsigned int i;

	if (!access_ok(p, len))
		return false;
	for (i = 0; i < nmaps; i++)
		if (a >= maps[i].start && a - maps[i].start <= maps[i].len &&
		    len <= maps[i].len - (a - maps[i].start))
			return true;
	return false;
}
