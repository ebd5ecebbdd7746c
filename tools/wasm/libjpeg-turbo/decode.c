/*
 * Grey, shrink-on-load JPEG decoding for the pneumonia classifier, built on libjpeg-turbo's libjpeg API and
 * compiled to WebAssembly by build.sh. Loaded by lambda/core/model/libjpeg-turbo/scaled-jpeg-decoder.ts.
 * build.sh compiles it twice: against the 8-bit libjpeg (JSAMPLE is a byte) and the 12-bit one (JSAMPLE is a
 * 16-bit short holding 0..4095, for DICOM's JPEG Extended frames), so the sample type is JSAMPLE throughout.
 *
 * Errors never end the program: libjpeg's error_exit longjmps back to the exported function, which destroys
 * the decompressor, frees what it allocated and returns a failure, so the instance stays usable. Nothing is
 * ever printed (emit_message and output_message are silent); the last error is kept for jd_error_message().
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

#define EXPORT __attribute__((used, visibility("default")))

/* jd_decode_grey flags. */
#define JD_FAIL_ON_WARNING 1

/* Fields of the int32 array jd_read_header and jd_decode_grey fill in. */
enum {
  JD_IMAGE_WIDTH,      /* as the header declares */
  JD_IMAGE_HEIGHT,
  JD_COMPONENTS,       /* 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK */
  JD_COLOR_SPACE,      /* J_COLOR_SPACE of the file */
  JD_PROGRESSIVE,      /* 1 for a progressive JPEG */
  JD_OUTPUT_WIDTH,     /* jd_decode_grey only: the scaled size */
  JD_OUTPUT_HEIGHT,
  JD_WARNINGS,         /* libjpeg warnings met (each is fatal with JD_FAIL_ON_WARNING) */
  JD_INFO_LENGTH
};

struct error_manager {
  struct jpeg_error_mgr pub;
  jmp_buf escape;
  int fail_on_warning;
};

static char error_message[JMSG_LENGTH_MAX];
static int error_code;

static void keep_message(j_common_ptr cinfo) {
  (*cinfo->err->format_message)(cinfo, error_message);
  error_code = cinfo->err->msg_code;
}

/* Fatal errors: keep the message and return to the exported function's setjmp. Never returns. */
static void on_error_exit(j_common_ptr cinfo) {
  keep_message(cinfo);
  longjmp(((struct error_manager *)cinfo->err)->escape, 1);
}

/* Warnings that say nothing about the pixels: decoding goes on even with JD_FAIL_ON_WARNING. */
static int harmless_warning(int code) {
  return code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC;
}

/*
 * msg_level -1 is a warning (corrupt or missing data, which libjpeg would paint over and go on); 0 and up are
 * trace messages, dropped. With fail_on_warning, a warning about the pixels ends the decode as an error.
 */
static void on_emit_message(j_common_ptr cinfo, int msg_level) {
  struct error_manager *err = (struct error_manager *)cinfo->err;
  if (msg_level >= 0) return;
  err->pub.num_warnings++;
  if (err->fail_on_warning && !harmless_warning(err->pub.msg_code)) {
    keep_message(cinfo);
    longjmp(err->escape, 1);
  }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void set_up_errors(struct jpeg_decompress_struct *cinfo, struct error_manager *err, int fail_on_warning) {
  cinfo->err = jpeg_std_error(&err->pub);
  err->pub.error_exit = on_error_exit;
  err->pub.emit_message = on_emit_message;
  err->pub.output_message = on_output_message;
  err->fail_on_warning = fail_on_warning;
  error_message[0] = '\0';
  error_code = 0;
}

static void describe(const struct jpeg_decompress_struct *cinfo, int *info) {
  info[JD_IMAGE_WIDTH] = (int)cinfo->image_width;
  info[JD_IMAGE_HEIGHT] = (int)cinfo->image_height;
  info[JD_COMPONENTS] = cinfo->num_components;
  info[JD_COLOR_SPACE] = (int)cinfo->jpeg_color_space;
  info[JD_PROGRESSIVE] = cinfo->progressive_mode ? 1 : 0;
}

/* The message of the last failure (libjpeg's own wording), or "" after a success. */
EXPORT const char *jd_error_message(void) { return error_message; }

/* libjpeg's message code of the last failure (J_MESSAGE_CODE), 0 after a success. */
EXPORT int jd_error_code(void) { return error_code; }

/*
 * Reads the header up to the first scan, decoding no pixels, and fills info (JD_INFO_LENGTH int32s, the
 * JD_OUTPUT_* ones left alone). Returns 1, or 0 with the reason in jd_error_message().
 */
EXPORT int jd_read_header(const unsigned char *data, unsigned long size, int *info) {
  struct jpeg_decompress_struct cinfo;
  struct error_manager err;
  set_up_errors(&cinfo, &err, 0);
  jpeg_create_decompress(&cinfo);
  if (setjmp(err.escape)) {
    jpeg_destroy_decompress(&cinfo);
    return 0;
  }
  jpeg_mem_src(&cinfo, data, size);
  jpeg_read_header(&cinfo, TRUE);
  describe(&cinfo, info);
  info[JD_WARNINGS] = (int)err.pub.num_warnings;
  jpeg_destroy_decompress(&cinfo);
  return 1;
}

/*
 * Decodes to grey JSAMPLEs (the Y channel of a YCbCr JPEG: libjpeg skips the chroma components entirely) at
 * 1/scale_denom of the size in the DCT domain (scale_denom 1, 2, 4 or 8; each side rounded up), allocating
 * no more than max_memory bytes for libjpeg's own buffers (0: no limit). Fills info (JD_INFO_LENGTH int32s)
 * and returns the output_width x output_height pixels, row after row, to be freed with free(); or NULL with
 * the reason in jd_error_message().
 */
EXPORT JSAMPLE *jd_decode_grey(const unsigned char *data, unsigned long size, int scale_denom, int flags,
                                     long max_memory, int *info) {
  struct jpeg_decompress_struct cinfo;
  struct error_manager err;
  JSAMPLE *volatile pixels = NULL;
  JSAMPROW *volatile rows = NULL;
  set_up_errors(&cinfo, &err, flags & JD_FAIL_ON_WARNING);
  jpeg_create_decompress(&cinfo);
  if (setjmp(err.escape)) {
    jpeg_destroy_decompress(&cinfo);
    free(pixels);
    free(rows);
    return NULL;
  }
  if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8) {
    snprintf(error_message, sizeof error_message, "Unsupported scale 1/%d: use 1/1, 1/2, 1/4 or 1/8", scale_denom);
    jpeg_destroy_decompress(&cinfo);
    return NULL;
  }
  cinfo.mem->max_memory_to_use = max_memory;
  jpeg_mem_src(&cinfo, data, size);
  jpeg_read_header(&cinfo, TRUE);
  describe(&cinfo, info);
  cinfo.out_color_space = JCS_GRAYSCALE;
  cinfo.scale_num = 1;
  cinfo.scale_denom = (unsigned int)scale_denom;
  cinfo.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&cinfo);
  JDIMENSION width = cinfo.output_width, height = cinfo.output_height;
  if (cinfo.output_components != 1) ERREXIT(&cinfo, JERR_CONVERSION_NOTIMPL);
  if ((unsigned long long)width * height > INT_MAX) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 98);
  pixels = malloc((size_t)width * height * sizeof(JSAMPLE));
  rows = malloc(sizeof(JSAMPROW) * height);
  if (pixels == NULL || rows == NULL) ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 99);
  for (JDIMENSION y = 0; y < height; y++) rows[y] = pixels + (size_t)y * width;
  while (cinfo.output_scanline < height) {
    jpeg_read_scanlines(&cinfo, rows + cinfo.output_scanline, height - cinfo.output_scanline);
  }
  jpeg_finish_decompress(&cinfo);
  info[JD_OUTPUT_WIDTH] = (int)width;
  info[JD_OUTPUT_HEIGHT] = (int)height;
  info[JD_WARNINGS] = (int)err.pub.num_warnings;
  jpeg_destroy_decompress(&cinfo);
  free(rows);
  return pixels;
}
