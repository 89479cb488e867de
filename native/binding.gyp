{
  "targets": [
    {
      "target_name": "spread_udp",
      "sources": ["spread_udp.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
