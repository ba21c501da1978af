// errno for the core's per-operation errors, as Linux's socket calls return them
// (each enum in core/errors.h names its errno). Used only where joyrided answers an
// application's call: the core itself never sees an errno.
#pragma once

#include "joyride/core/errors.h"

namespace joyride::service {

int open_errno(core::OpenError e);
int bind_errno(core::BindError e);
int listen_errno(core::ListenError e);
int accept_errno(core::AcceptError e);
int connect_errno(core::ConnectError e);
int send_errno(core::SendError e);
int recv_errno(core::RecvError e);

}  // namespace joyride::service
