# SPDX-License-Identifier: GPL-2.0
#
# The guest-driver library, for the Makefiles that use it.  Set VHL_LIB_OUT
# (where the objects go) before including this file; link $(VHL_LIB_A).
# Each user builds its own copy, so parallel builds never share outputs.

VHL_LIB_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
VHL_LIB_SRCS := guest_mem.c virtq.c vhost_dev.c fdinfo.c tap.c blk_req.c vsock_pkt.c \
		dirty_log.c virtq_hostile.c
VHL_LIB_OBJS := $(addprefix $(VHL_LIB_OUT)/,$(VHL_LIB_SRCS:.c=.o))
VHL_LIB_A := $(VHL_LIB_OUT)/libvhl.a

$(VHL_LIB_OUT):
	@mkdir -p $@

$(VHL_LIB_OUT)/%.o: $(VHL_LIB_DIR)/%.c | $(VHL_LIB_OUT)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(VHL_LIB_A): $(VHL_LIB_OBJS)
	$(AR) rcs $@ $^

-include $(VHL_LIB_OBJS:.o=.d)
