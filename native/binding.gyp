{
  "targets": [
    {
      "target_name": "netping_sockets",
      "sources": ["src/addon.cc", "src/probe_socket.cc", "src/icmp_filter.cc", "src/clock.cc", "src/tcp_info.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
