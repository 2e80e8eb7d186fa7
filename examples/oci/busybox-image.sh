#!/bin/sh
# Builds a small OCI image offline: Debian's static busybox (busybox-static) with its applets,
# packed with umoci into the image layout LAYOUT as TAG. Only Debian's mirror is needed, never a
# registry: tests and the oci example build their image this way.
#   examples/oci/busybox-image.sh LAYOUT TAG
set -eu
layout=$1
tag=$2
busybox=$(command -v busybox)
if ldd "$busybox" >/dev/null 2>&1; then
  echo "busybox-image.sh: $busybox is not static: apt-get install busybox-static" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -f "$layout/index.json" ] || umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
root=$work/bundle/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/var/www"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
echo 'hello from a nodevisor container' > "$root/var/www/index.html"
umoci repack --image "$layout:$tag" "$work/bundle" >/dev/null
umoci config --image "$layout:$tag" --config.cmd /bin/sh --config.cmd -c \
  --config.cmd 'echo no command given; sleep 3600' --config.env PATH=/bin \
  --config.workingdir / --os linux --architecture "$(dpkg --print-architecture)"
