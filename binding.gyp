{
  "targets": [
    {
      "target_name": "tsvisor_sys",
      "sources": ["native/tsvisor.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
