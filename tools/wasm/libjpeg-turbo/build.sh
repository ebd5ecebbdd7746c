#!/usr/bin/env bash
# Builds lambda/core/model/libjpeg-turbo/libjpeg-turbo-grey.wasm: libjpeg-turbo 2.1.5's decoder (8-bit samples, no SIMD)
# with decode.c's exports, a plain WebAssembly module (no emscripten JS glue), loaded by scaled-jpeg-decoder.ts;
# and libjpeg-turbo-grey12.wasm, the same source and decode.c built with 12-bit samples (libjpeg-turbo 2.1 builds
# one precision or the other), for DICOM's 12-bit JPEG Extended frames, loaded only when such a frame arrives.
# The same source and emscripten give the same .wasm, byte for byte (the sha256s printed at the end are in the README).
#
#   tools/wasm/libjpeg-turbo/build.sh            (as root on Debian bookworm: apt-get install -y emscripten)
#
# The source is Debian bookworm's orig tarball of libjpeg-turbo 2.1.5 (upstream's release, no Debian patch
# applied), fetched with apt-get source and checked against the sha256 below, plus one patch of ours
# (wasm32-64bit-huffman-buffer.patch). Needs deb-src for bookworm.
# Environment: WORK (scratch folder, default a fresh temporary one); DEST (where the .wasm and licences go,
# default lambda/core/model/libjpeg-turbo); SAMPLE_BITS (the builds made, default "8 12"); ALLOW_OTHER_EMSCRIPTEN=1 to build with an emscripten other than the one
# the committed .wasm was built with. For comparing builds (compare-builds.ts): SIMD128=1 adds -msimd128,
# HUFFMAN_PATCH=0 leaves the patch out, BULK_MEMORY=0 leaves -mbulk-memory out. The defaults are what
# measured best (README.md): -msimd128 made no difference; bulk memory (memory.fill/copy for libjpeg's
# per-block memset, in every Node.js this service runs on) and the patch each helped a little.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${DEST:-$REPO/lambda/core/model/libjpeg-turbo}"
VERSION=2.1.5
TARBALL="libjpeg-turbo_${VERSION}.orig.tar.gz"
TARBALL_SHA256=254f3642b04e309fee775123133c6464181addc150499561020312ec61c1bf7c
EMSCRIPTEN_VERSION=3.1.6
WORK="${WORK:-$(mktemp -d)}"
TARGET_FLAGS=""
if [[ "${BULK_MEMORY:-1}" == 1 ]]; then TARGET_FLAGS="-mbulk-memory"; fi
if [[ "${SIMD128:-0}" == 1 ]]; then TARGET_FLAGS="$TARGET_FLAGS -msimd128"; fi

found="$(emcc --version | sed -n 's/^emcc .* \([0-9][0-9.]*\) .*/\1/p' | head -1)"
if [[ "$found" != "$EMSCRIPTEN_VERSION" && "${ALLOW_OTHER_EMSCRIPTEN:-0}" != 1 ]]; then
  echo "emscripten $EMSCRIPTEN_VERSION expected, found '${found}' (ALLOW_OTHER_EMSCRIPTEN=1 to go on)" >&2
  exit 1
fi

cd "$WORK"
if [[ ! -f "$TARBALL" ]]; then apt-get source --download-only "libjpeg-turbo=1:${VERSION}-2"; fi
echo "$TARBALL_SHA256  $TARBALL" | sha256sum --check --strict
rm -rf "libjpeg-turbo-$VERSION" build8 build12
tar xzf "$TARBALL"
if [[ "${HUFFMAN_PATCH:-1}" == 1 ]]; then patch -d "libjpeg-turbo-$VERSION" -p1 < "$HERE/wasm32-64bit-huffman-buffer.patch"; fi

# Static libjpeg only: no SIMD (x86/ARM assembly), no TurboJPEG API, no tools. NO_GETENV: the JPEGMEM
# variable is not read, so the module imports no environment (NO_PUTENV too: jinclude.h needs both together).
# Type sizes are given: CMake's check_type_size runs its probe under emscripten's emulator and reads 9 for
# both. BUILD is fixed (default: today's date) so the same source gives the same .wasm.
# A standalone module: its only imports are two trivial ones of Wasm setjmp/longjmp (getTempRet0/setTempRet0)
# and the WASI calls libjpeg's unused default message printer links in, which the loader stubs out.
# 64 MiB to start (enough for a 16 MP baseline X-ray at 1/1), grown as needed up to 256 MiB.
EXPORTS='["_jd_read_header","_jd_decode_grey","_jd_error_message","_jd_error_code","_malloc","_free"]'
mkdir -p "$OUT"
for bits in ${SAMPLE_BITS:-8 12}; do
  if [[ "$bits" == 8 ]]; then name=libjpeg-turbo-grey.wasm; twelve=0; else name=libjpeg-turbo-grey12.wasm; twelve=1; fi
  emcmake cmake -S "libjpeg-turbo-$VERSION" -B "build$bits" -G "Unix Makefiles" \
    -DHAVE_SIZE_T=TRUE -DSIZE_T=4 -DHAVE_UNSIGNED_LONG=TRUE -DUNSIGNED_LONG=4 -Wno-dev -DBUILD="$VERSION-wasm" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O3 -DNDEBUG -DNO_GETENV -DNO_PUTENV $TARGET_FLAGS" \
    -DENABLE_SHARED=0 -DENABLE_STATIC=1 -DWITH_SIMD=0 -DWITH_TURBOJPEG=0 -DWITH_JAVA=0 -DWITH_ARITH_ENC=0 -DWITH_12BIT=$twelve
  emmake make -C "build$bits" -j"$(nproc)" jpeg-static
  emcc -O3 $TARGET_FLAGS "$HERE/decode.c" -I "libjpeg-turbo-$VERSION" -I "build$bits" "build$bits/libjpeg.a" \
    -o "$WORK/$name" --no-entry \
    -sSTANDALONE_WASM -sSUPPORT_LONGJMP=wasm -sEXPORTED_FUNCTIONS="$EXPORTS" \
    -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB -sMAXIMUM_MEMORY=256MB -sTOTAL_STACK=1MB -sFILESYSTEM=0
  cp "$WORK/$name" "$OUT/"
  ls -l "$OUT/$name"
  sha256sum "$OUT/$name"
done

cp "libjpeg-turbo-$VERSION/LICENSE.md" "$OUT/LICENSE.md"
cp "libjpeg-turbo-$VERSION/README.ijg" "$OUT/README.ijg"
