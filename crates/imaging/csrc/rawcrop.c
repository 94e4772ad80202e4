/*
 * Raw (Y/Cb/Cr plane) decoding of a column range of a JPEG, through libjpeg's own API as
 * built by turbojpeg-sys. TurboJPEG's cropping region only applies to packed-pixel
 * decoding, and jpeg_crop_scanline() refuses raw_data_out by its state check alone: the
 * coefficient controllers (single-scan and progressive) honour the crop in raw mode too,
 * which is what this shim relies on. Skipping the columns a crop discards saves their
 * IDCT and their share of the plane buffers; entropy decoding still reads every MCU.
 *
 * Everything sized here is checked against the caller's (Rust's) buffers through
 * hs_geometry, and every libjpeg error or warning unwinds to the calling function's setjmp
 * and is reported as a message, like TurboJPEG does with TJPARAM_STOPONWARNING.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

/* From libjpeg's internal jpegint.h (not installed). Stable since libjpeg 6b. */
#define HS_DSTATE_SCANNING 205
#define HS_DSTATE_RAW_OK 206
/* The leading field of struct jpeg_inverse_dct (jpegint.h). */
struct hs_inverse_dct_prefix {
  void (*start_pass)(j_decompress_ptr cinfo);
};

struct hs_error {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

typedef struct hs_dec {
  struct jpeg_decompress_struct cinfo;
  struct hs_error err;
  int started;
} hs_dec;

/* What the caller needs to size and place its planes; luma units at the scaled size. */
typedef struct hs_geometry {
  unsigned int out_width, out_height; /* whole frame at this scale */
  unsigned int xoffset, width;        /* decoded columns (xoffset aligned down by libjpeg) */
  unsigned int imcu_rows;             /* luma rows per jpeg_read_raw_data call */
  int components;
  /* Per component: bytes per buffer row, rows per iMCU row, luma samples per sample. */
  unsigned int buf_width[3], rows[3], hfactor[3], vfactor[3];
} hs_geometry;

static void hs_error_exit(j_common_ptr cinfo) {
  struct hs_error *err = (struct hs_error *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

/* A warning means corrupt or missing data that libjpeg would paper over with grey: stop. */
static void hs_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0) {
    struct hs_error *err = (struct hs_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
  }
}

/* Runs jpeg_create_decompress under a setjmp; 0 or -1. */
static int hs_create(hs_dec *d) {
  if (setjmp(d->err.jump)) return -1;
  jpeg_create_decompress(&d->cinfo);
  return 0;
}

hs_dec *hs_new(void) {
  hs_dec *d = (hs_dec *)calloc(1, sizeof(hs_dec));
  if (!d) return NULL;
  d->cinfo.err = jpeg_std_error(&d->err.pub);
  d->err.pub.error_exit = hs_error_exit;
  d->err.pub.emit_message = hs_emit_message;
  if (hs_create(d) != 0) {
    free(d);
    return NULL;
  }
  return d;
}

void hs_free(hs_dec *d) {
  if (!d) return;
  jpeg_destroy_decompress(&d->cinfo);
  free(d);
}

const char *hs_message(const hs_dec *d) { return d->err.message; }

/*
 * Reads the headers, starts a raw decompression at 1/denom (chroma at a further
 * 1/chroma_denom, down to 1/8 in all) and limits it to the luma columns [x0, x1) of the
 * scaled frame (x1 = 0: the whole width). Returns 0 or -1.
 */
/* Not inlined: its locals must live in their own frame, below the caller's setjmp. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static int hs_start_inner(hs_dec *d, const unsigned char *data, unsigned long size,
                          unsigned int denom, unsigned int chroma_denom, unsigned int x0,
                          unsigned int x1, unsigned long max_memory, hs_geometry *g);

int hs_start(hs_dec *d, const unsigned char *data, unsigned long size, unsigned int denom,
             unsigned int chroma_denom, unsigned int x0, unsigned int x1,
             unsigned long max_memory, hs_geometry *g) {
  /* libjpeg errors unwind to here; nothing below the setjmp is used after a longjmp. */
  if (setjmp(d->err.jump)) return -1;
  return hs_start_inner(d, data, size, denom, chroma_denom, x0, x1, max_memory, g);
}

static int hs_start_inner(hs_dec *d, const unsigned char *data, unsigned long size,
                          unsigned int denom, unsigned int chroma_denom, unsigned int x0,
                          unsigned int x1, unsigned long max_memory, hs_geometry *g) {
  j_decompress_ptr cinfo = &d->cinfo;
  int ci;
  unsigned int align, ncols, dct, full_width;
  if (d->started) {
    strcpy(d->err.message, "decoder already started");
    return -1;
  }
  d->started = 1;
  jpeg_mem_src(cinfo, data, size);
  jpeg_read_header(cinfo, TRUE);
  if (cinfo->num_components != 1 && cinfo->num_components != 3) {
    strcpy(d->err.message, "raw decoding needs 1 or 3 components");
    return -1;
  }
  if ((denom != 1 && denom != 2 && denom != 4 && denom != 8) ||
      (chroma_denom != 1 && chroma_denom != 2 && chroma_denom != 4 && chroma_denom != 8)) {
    strcpy(d->err.message, "unsupported scale");
    return -1;
  }
  cinfo->scale_num = 1;
  cinfo->scale_denom = denom;
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->raw_data_out = TRUE;
  /* Progressive files keep every coefficient; past this libjpeg fails instead of growing. */
  cinfo->mem->max_memory_to_use = (long)max_memory;
  jpeg_start_decompress(cinfo);
  dct = DCTSIZE / denom;

  /* Chroma's IDCT size. libjpeg picks a larger one for 4:2:0 at reduced scales (it
   * upsamples through the IDCT, which raw mode does not want: TurboJPEG's
   * tj3DecompressToYUVPlanes8 undoes it the same way), and the caller may want chroma at
   * a further 1/chroma_denom, since renditions keep only a quarter of the chroma samples.
   * The IDCT manager's start_pass picks the routine and quantisation table per component
   * from DCT_scaled_size, as it does at the start of every output pass. */
  if (cinfo->num_components == 3) {
    int changed = 0, want = (int)(dct / chroma_denom);
    struct hs_inverse_dct_prefix *idct = (struct hs_inverse_dct_prefix *)cinfo->idct;
    if (want < 1) want = 1;
    for (ci = 1; ci < 3; ci++) {
      jpeg_component_info *c = &cinfo->comp_info[ci];
      if (c->DCT_scaled_size != want) {
        c->DCT_scaled_size = want;
        c->MCU_sample_width = c->MCU_width * want;
        changed = 1;
      }
    }
    if (changed) (*idct->start_pass)(cinfo);
  }

  full_width = cinfo->output_width;
  if (x1 == 0 || x1 > cinfo->output_width) x1 = cinfo->output_width;
  if (x0 >= x1) x0 = 0;
  if (x0 > 0 || x1 < cinfo->output_width) {
    JDIMENSION xoff = x0, w = x1 - x0;
    /* jpeg_crop_scanline() only checks the state to stop calls after scanlines were read;
     * nothing has been read yet. It needs no upsampler unless a component ends up under
     * 2 samples wide, which the caller rules out (crops are at least 64 px wide). */
    cinfo->global_state = HS_DSTATE_SCANNING;
    jpeg_crop_scanline(cinfo, &xoff, &w);
    cinfo->global_state = HS_DSTATE_RAW_OK;
  }
  g->out_width = full_width;
  g->out_height = cinfo->output_height;
  g->components = cinfo->num_components;
  {
    /* jpeg_crop_scanline() set output_width to the adjusted width and aligned xoffset down
     * to an iMCU column; recompute that alignment here from the same fields. */
    int single = cinfo->comps_in_scan == 1 && cinfo->num_components == 1;
    align = (unsigned int)(single ? cinfo->min_DCT_scaled_size
                                  : cinfo->min_DCT_scaled_size * cinfo->max_h_samp_factor);
    if (x0 > 0 || x1 < g->out_width) {
      g->xoffset = (x0 / align) * align;
      g->width = x1 - g->xoffset;
    } else {
      g->xoffset = 0;
      g->width = g->out_width;
    }
    /* iMCU columns that get an IDCT: first = xoffset / align, last = ceil(end / align) - 1. */
    ncols = (g->xoffset + g->width + align - 1) / align - g->xoffset / align;
    g->imcu_rows = (unsigned int)(cinfo->max_v_samp_factor * cinfo->min_DCT_scaled_size);
    for (ci = 0; ci < 3; ci++) {
      g->buf_width[ci] = g->rows[ci] = g->hfactor[ci] = g->vfactor[ci] = 0;
    }
    for (ci = 0; ci < cinfo->num_components; ci++) {
      jpeg_component_info *c = &cinfo->comp_info[ci];
      unsigned int hsf = single ? 1 : (unsigned int)c->h_samp_factor;
      unsigned int vsf = single ? 1 : (unsigned int)c->v_samp_factor;
      unsigned int hnum = (unsigned int)(cinfo->max_h_samp_factor * cinfo->min_DCT_scaled_size);
      unsigned int vnum = (unsigned int)(cinfo->max_v_samp_factor * cinfo->min_DCT_scaled_size);
      unsigned int hden = (unsigned int)(c->h_samp_factor * c->DCT_scaled_size);
      unsigned int vden = (unsigned int)(c->v_samp_factor * c->DCT_scaled_size);
      g->buf_width[ci] = ncols * hsf * (unsigned int)c->DCT_scaled_size;
      /* decompress_onepass writes v_samp block rows (1 for a lone component's own scan). */
      g->rows[ci] = (single ? 1 : vsf) * (unsigned int)c->DCT_scaled_size;
      if (single) g->rows[ci] = g->imcu_rows;
      if (hden == 0 || vden == 0 || hnum % hden != 0 || vnum % vden != 0) {
        strcpy(d->err.message, "sampling factors without a plane layout");
        return -1;
      }
      g->hfactor[ci] = hnum / hden;
      g->vfactor[ci] = vnum / vden;
    }
  }
  return 0;
}

/*
 * Decodes the next iMCU row into planes[c][0 .. rows[c]) (row pointers, each at least
 * buf_width[c] bytes). Returns the number of luma rows produced, or -1.
 */
int hs_read_rows(hs_dec *d, unsigned char **planes[3]) {
  j_decompress_ptr cinfo = &d->cinfo;
  JDIMENSION n;
  if (setjmp(d->err.jump)) return -1;
  if (cinfo->output_scanline >= cinfo->output_height) {
    strcpy(d->err.message, "read past the last row");
    return -1;
  }
  n = jpeg_read_raw_data(cinfo, planes, cinfo->max_v_samp_factor * cinfo->min_DCT_scaled_size);
  if (n == 0) {
    strcpy(d->err.message, "decoder suspended");
    return -1;
  }
  return (int)n;
}
