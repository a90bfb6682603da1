// System hiredis (libhiredis-dev): the synchronous API only (connect, argv commands, pipelining).
#include <sys/time.h>
#include <hiredis/hiredis.h>
