/* A Node-API addon for one measurement (bench/shm-addon/measure.mjs): map a /dev/shm segment
   read-only into an ArrayBuffer, so Node reads a result without copying it. Not shipped. */
#include <node_api.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>

static void unmap(napi_env env, void* data, void* hint) { munmap(data, (size_t)(uintptr_t)hint); }

/* mapFile(path, length) -> ArrayBuffer over a private read-only mapping; the file may be unlinked after. */
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[512]; size_t n;
  napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n);
  int64_t len; napi_get_value_int64(env, argv[1], &len);
  int fd = open(path, O_RDONLY);
  if (fd < 0) { napi_throw_error(env, NULL, "open failed"); return NULL; }
  void* p = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) { napi_throw_error(env, NULL, "mmap failed"); return NULL; }
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(env, p, (size_t)len, unmap, (void*)(uintptr_t)len, &ab);
  if (st != napi_ok) { munmap(p, (size_t)len); napi_throw_error(env, NULL, "external arraybuffer refused"); return NULL; }
  return ab;
}

NAPI_MODULE_INIT() {
  napi_value fn; napi_create_function(env, "mapFile", NAPI_AUTO_LENGTH, map_file, NULL, &fn);
  napi_set_named_property(env, exports, "mapFile", fn);
  return exports;
}
