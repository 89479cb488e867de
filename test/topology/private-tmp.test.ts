import { describe, expect, it } from 'vitest';
import { privateTmpScript } from '../../interop/netns-bridge.js';

describe('private /tmp for namespace daemons', () => {
  it('mounts an empty /tmp when nothing under /tmp must stay visible', () => {
    expect(privateTmpScript([])).toBe('mount -t tmpfs -o mode=1777 spts-tmp /tmp && exec "$@"');
  });

  it('binds a project cloned under /tmp back into place, quoting the path', () => {
    expect(privateTmpScript(["/tmp/a b/it's"])).toBe(
      "mount --bind /tmp /mnt && mount -t tmpfs -o mode=1777 spts-tmp /tmp && " +
        "mkdir -p '/tmp/a b/it'\\''s' && mount --bind '/mnt/a b/it'\\''s' '/tmp/a b/it'\\''s' && exec \"$@\"",
    );
  });
});
