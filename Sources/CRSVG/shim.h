// librsvg renders the charts' SVG into a cairo image surface (the PNGs under plots/).
//
// cairo's own header is used as installed. librsvg's header pulls in GLib, GIO and gdk-pixbuf from folders that
// only `pkg-config librsvg-2.0` knows (one of them architecture-specific), and that pkg-config line carries
// -pthread, which SwiftPM refuses with a warning on every build; so the five functions and two structures medad
// calls are declared here, as librsvg 2.54's <librsvg/rsvg.h> and GLib's <glib/gerror.h> define them (C ABI,
// stable since librsvg 2.46 and GLib 2.0).
#include <stddef.h>
#include <stdint.h>
#include <cairo/cairo.h>

typedef struct _RsvgHandle RsvgHandle;

typedef struct {
    uint32_t domain;  // GQuark
    int code;
    char *message;
} GError;

typedef struct {
    double x;
    double y;
    double width;
    double height;
} RsvgRectangle;

RsvgHandle *rsvg_handle_new_from_data(const uint8_t *data, size_t data_len, GError **error);
int rsvg_handle_render_document(RsvgHandle *handle, cairo_t *cr, const RsvgRectangle *viewport, GError **error);
void g_object_unref(void *object);
void g_error_free(GError *error);
