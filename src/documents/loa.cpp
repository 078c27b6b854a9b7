#include "documents/loa.hpp"

#include <hpdf.h>

#include <algorithm>
#include <functional>
#include <memory>

namespace portline::documents {

std::vector<std::pair<std::size_t, std::size_t>> WrapLines(
    std::string_view text, std::size_t window,
    const std::function<std::size_t(std::string_view, bool)>& fit) {
  std::vector<std::pair<std::size_t, std::size_t>> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::string_view chunk = text.substr(pos, window);
    std::size_t k = std::min(fit(chunk, true), chunk.size());
    if (k == 0) {
      k = std::max<std::size_t>(1, std::min(fit(chunk, false), chunk.size()));  // a long word
    }
    std::size_t length = k;
    while (length > 1 && text[pos + length - 1] == ' ') {
      --length;
    }
    lines.emplace_back(pos, length);
    pos += k;
    while (pos < text.size() && text[pos] == ' ') {
      ++pos;
    }
  }
  if (lines.empty()) {
    lines.emplace_back(0, 0);  // an empty text is one empty line, as before
  }
  return lines;
}

namespace {

constexpr float kWidth = 612;  // US Letter, points
constexpr float kHeight = 792;
constexpr float kMargin = 56;
constexpr float kLine = 15;
// A line holds at most ~150 characters at the smallest size used; each measure sees this many.
constexpr std::size_t kWrapWindow = 512;

void OnError(HPDF_STATUS, HPDF_STATUS, void*) {}  // errors are read back with HPDF_GetError

// The standard 14 fonts speak WinAnsi (Latin-1 here): other characters become '?'.
std::string Latin1(std::string_view utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(c < 0x20 ? ' ' : static_cast<char>(c));
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size()) {
      const unsigned cp = ((c & 0x1FU) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3FU);
      out.push_back(cp >= 0xA0 && cp <= 0xFF ? static_cast<char>(cp) : '?');
      ++i;
    } else {
      out.push_back('?');
      while (i + 1 < utf8.size() && (static_cast<unsigned char>(utf8[i + 1]) & 0xC0) == 0x80) {
        ++i;
      }
    }
  }
  return out;
}

class Writer {
 public:
  Writer() : pdf_(HPDF_New(OnError, nullptr), HPDF_Free) {
    if (pdf_) {
      HPDF_SetCompressionMode(pdf_.get(), HPDF_COMP_ALL);
      regular_ = HPDF_GetFont(pdf_.get(), "Helvetica", "WinAnsiEncoding");
      bold_ = HPDF_GetFont(pdf_.get(), "Helvetica-Bold", "WinAnsiEncoding");
      mono_ = HPDF_GetFont(pdf_.get(), "Courier", "WinAnsiEncoding");
    }
  }
  bool ok() const { return pdf_ != nullptr && HPDF_GetError(pdf_.get()) == HPDF_OK; }

  void NewPage() {
    page_ = HPDF_AddPage(pdf_.get());
    HPDF_Page_SetWidth(page_, kWidth);
    HPDF_Page_SetHeight(page_, kHeight);
    y_ = kHeight - kMargin;
    ++pages_;
    Footer();
  }

  void Text(std::string_view text, float size = 10, HPDF_Font font = nullptr, float indent = 0) {
    if (font == nullptr) {
      font = regular_;
    }
    // Wrap on spaces to the page width, in time linear in the text's length.
    const std::string latin = Latin1(text);
    const float width = kWidth - 2 * kMargin - indent;
    HPDF_Page_SetFontAndSize(page_, font, size);
    auto fit = [this, width](std::string_view chunk, bool word_wrap) -> std::size_t {
      const std::string z(chunk);  // libhpdf wants NUL-terminated text
      return HPDF_Page_MeasureText(page_, z.c_str(), width, word_wrap ? HPDF_TRUE : HPDF_FALSE,
                                   nullptr);
    };
    for (const auto& [at, length] : WrapLines(latin, kWrapWindow, fit)) {
      Line(latin.substr(at, length), size, font, indent);
    }
  }

  void Gap(float points = kLine / 2) { y_ -= points; }
  HPDF_Font bold() const { return bold_; }
  HPDF_Font mono() const { return mono_; }

  void Rule() {
    NeedSpace(kLine);
    HPDF_Page_SetLineWidth(page_, 0.5F);
    HPDF_Page_MoveTo(page_, kMargin, y_);
    HPDF_Page_LineTo(page_, kWidth - kMargin, y_);
    HPDF_Page_Stroke(page_);
    y_ -= kLine / 2;
  }

  Result<std::string> Save() {
    if (HPDF_SaveToStream(pdf_.get()) != HPDF_OK || !ok()) {
      return Fail(Errc::kInternal, "could not render the LOA",
                  "libhpdf error " + std::to_string(HPDF_GetError(pdf_.get())));
    }
    const HPDF_UINT32 size = HPDF_GetStreamSize(pdf_.get());
    std::string out(size, '\0');
    HPDF_UINT32 read = size;
    HPDF_ResetStream(pdf_.get());
    HPDF_ReadFromStream(pdf_.get(), reinterpret_cast<HPDF_BYTE*>(out.data()), &read);
    out.resize(read);
    return out;
  }

  void set_footer(std::string footer) { footer_ = std::move(footer); }

  // Draws a PNG at most `max_w` × `max_h` points; false when libhpdf cannot read it.
  bool Image(const std::string& png, float max_w, float max_h) {
    HPDF_Image img =
        HPDF_LoadPngImageFromMem(pdf_.get(), reinterpret_cast<const HPDF_BYTE*>(png.data()),
                                 static_cast<HPDF_UINT>(png.size()));
    if (img == nullptr) {
      HPDF_ResetError(pdf_.get());
      return false;
    }
    const auto w = static_cast<float>(HPDF_Image_GetWidth(img));
    const auto h = static_cast<float>(HPDF_Image_GetHeight(img));
    const float scale = std::min({max_w / w, max_h / h, 1.0F});
    NeedSpace(h * scale + 4);
    HPDF_Page_DrawImage(page_, img, kMargin, y_ - h * scale, w * scale, h * scale);
    y_ -= h * scale + 6;
    return true;
  }

 private:
  void NeedSpace(float h) {
    if (y_ - h < kMargin + 20) {
      NewPage();
    }
  }
  void Line(const std::string& text, float size, HPDF_Font font, float indent) {
    NeedSpace(size + 4);
    HPDF_Page_BeginText(page_);
    HPDF_Page_SetFontAndSize(page_, font, size);
    HPDF_Page_TextOut(page_, kMargin + indent, y_ - size, text.c_str());
    HPDF_Page_EndText(page_);
    y_ -= size + 5;
  }
  void Footer() {
    HPDF_Page_BeginText(page_);
    HPDF_Page_SetFontAndSize(page_, regular_, 8);
    const std::string f = Latin1(footer_) + "   page " + std::to_string(pages_);
    HPDF_Page_TextOut(page_, kMargin, kMargin - 20, f.c_str());
    HPDF_Page_EndText(page_);
  }

  std::unique_ptr<std::remove_pointer_t<HPDF_Doc>, decltype(&HPDF_Free)> pdf_;
  HPDF_Page page_ = nullptr;
  HPDF_Font regular_ = nullptr;
  HPDF_Font bold_ = nullptr;
  HPDF_Font mono_ = nullptr;
  float y_ = 0;
  int pages_ = 0;
  std::string footer_;
};

void Field(Writer& w, std::string_view label, std::string_view value) {
  w.Text(std::string(label) + ": " + std::string(value.empty() ? "-" : value), 10);
}

void RenderBody(Writer& w, const LoaData& d, const SignatureAudit* audit) {
  w.set_footer("Letter of Authorization - port request " + d.request_id);
  w.NewPage();
  w.Text("Letter of Authorization (LOA)", 18, w.bold());
  w.Text("Authorization to port telephone numbers to " + d.platform_name, 11);
  w.Gap();
  w.Rule();
  w.Text("Account holder", 12, w.bold());
  Field(w, "Name", d.account_holder);
  Field(w, "Customer type", d.customer_type);
  Field(w, "Service address", d.service_address);
  if (!d.billing_number.empty()) {
    Field(w, "Billing telephone number", d.billing_number);
  }
  if (!d.account_number_hint.empty()) {
    Field(w, "Account number", d.account_number_hint);
  }
  w.Gap();
  w.Text("Authorized representative", 12, w.bold());
  Field(w, "Name", d.representative_name);
  Field(w, "Email", d.representative_email);
  w.Gap();
  w.Text("Requested port date: " + d.target_date, 11, w.bold());
  w.Gap();
  w.Text("Telephone numbers (" + std::to_string(d.numbers.size()) + ")", 12, w.bold());
  for (const auto& [number, carrier] : d.numbers) {
    w.Text(number + "    current carrier: " + (carrier.empty() ? "-" : carrier), 10, w.mono(), 10);
  }
  w.Gap();
  w.Rule();
  w.Text(ConsentText(d), 10);
  w.Gap(kLine);
  if (audit == nullptr) {
    w.Text("Signature: ____________________________    Date: ______________", 11);
    w.Text("Sign electronically at the link sent to " + d.representative_email + ".", 9);
  } else {
    w.Text("Signed electronically by " + audit->name +
               (audit->title.empty() ? std::string() : ", " + audit->title) + " on " +
               audit->signed_at,
           11, w.bold());
    if (!audit->drawn_png.empty()) {
      w.Image(audit->drawn_png, 220, 70);
    }
    w.Text("See the certificate of completion on the last page.", 9);
  }
}

}  // namespace

std::string ConsentText(const LoaData& d) {
  return "I, the authorized representative of " + d.account_holder + ", authorize " +
         d.platform_name +
         " and its carrier partners to act as agent to port the telephone numbers listed above "
         "from their current carrier(s), and to obtain the account information needed to do so. "
         "I confirm that I am authorized to make this request for the account holder, that the "
         "information above is correct, and that porting may end service with the current "
         "carrier(s) for these numbers.";
}

Result<std::string> RenderLoa(const LoaData& data) {
  Writer w;
  if (!w.ok()) {
    return Fail(Errc::kInternal, "could not start the LOA document");
  }
  RenderBody(w, data, nullptr);
  return w.Save();
}

Result<std::string> RenderSignedLoa(const LoaData& data, const SignatureAudit& a) {
  Writer w;
  if (!w.ok()) {
    return Fail(Errc::kInternal, "could not start the LOA document");
  }
  RenderBody(w, data, &a);
  w.set_footer("Certificate of completion - port request " + data.request_id);
  w.NewPage();
  w.Text("Certificate of Completion", 18, w.bold());
  w.Text("Electronic signature of the Letter of Authorization", 11);
  w.Gap();
  w.Rule();
  Field(w, "Port request", data.request_id);
  Field(w, "Signer", a.name);
  Field(w, "Title", a.title);
  Field(w, "Signer email (link sent to)", a.email);
  Field(w, "Signed at", a.signed_at);
  Field(w, "Signing link issued at", a.link_issued_at);
  Field(w, "IP address", a.ip);
  w.Text("User agent: " + (a.user_agent.empty() ? std::string("-") : a.user_agent), 10);
  w.Gap();
  w.Text("SHA-256 of the LOA as shown to the signer:", 10, w.bold());
  w.Text(a.loa_sha256, 9, w.mono(), 10);
  w.Gap();
  if (!a.drawn_png.empty()) {
    w.Text("Drawn signature:", 10, w.bold());
    w.Image(a.drawn_png, 220, 70);
  }
  w.Text("The signer typed their name and confirmed this statement:", 10, w.bold());
  w.Text(a.consent_text, 9);
  return w.Save();
}

}  // namespace portline::documents
