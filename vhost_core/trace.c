// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite tracepoints: the one file that instantiates them (see
 * vhl_trace.h).
 */
#include "internal.h"

#define CREATE_TRACE_POINTS
#include "vhl_trace.h"
