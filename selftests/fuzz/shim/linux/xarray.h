/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the fuzzer: see fuzz_shim.h. */
#include "../fuzz_shim.h"
