// System zlib (zlib1g-dev): gzip_packed (inflate/deflate) and CRC32 for the full transport.
#include <zlib.h>
