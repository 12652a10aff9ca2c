import CalibTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `calib report` on the shipped sample: one self-contained page with every tensor, its encoding's
/// numbers, the histograms' method clip points and the per-channel outliers `show --channels` names.
@Suite struct ReportHTMLTests {
    /// The sample calibrated three ways into one database: per channel, with onnxruntime's histograms,
    /// and from one batch only (the session compared against).
    static func sampleDatabase(_ dir: TemporaryDirectory) throws -> String {
        let db = dir.path("r.sqlite")
        let batch0 = CLITests.sample + "/batch_000.safetensors"
        for args in [
            ["--session", "pc", "--per-channel-axis", "-1", CLITests.sample],
            ["--session", "ort", "--observer", "histogram", "--convention", "onnxruntime", "--bins", "2048", CLITests.sample],
            ["--session", "half", "--convention", "onnxruntime", batch0],
        ] {
            let run = try CLI.run(["run", "--db", db] + args)
            #expect(run.status == 0, "\(run.stderr)")
        }
        return db
    }

    @Test func samplePageHoldsEveryTensorAndNothingExternal() throws {
        let dir = TemporaryDirectory()
        let db = try Self.sampleDatabase(dir)
        let out = dir.path("pc.html")
        let r = try CLI.run(["report", "--db", db, "pc", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        for external in ["src=", "<link", "<script", "http://", "https://", "@import"] {
            #expect(!html.contains(external), "\(external)")
        }
        let show = try CLI.run(["show", "--db", db, "pc", "--json"])
        let encodings = try #require((show.json as? [String: Any])?["encodings"] as? [String: [String: Any]])
        #expect(encodings.count == 15)
        for name in encodings.keys { #expect(html.contains("<h3>\(name)</h3>"), "\(name)") }
        // The outlier channels `show --channels` ranks first are named on the page.
        let tensor = "encoder.layer.0.attention.output"
        let channels = try CLI.run(["show", "--db", db, "pc", "--channels", tensor, "--json", "--top", "3"])
        let ranked = try #require((channels.json as? [String: Any])?["ranked"] as? [[String: Any]])
        let section = try #require(html.components(separatedBy: "<h3>\(tensor)</h3>").dropFirst().first)
        for c in ranked { #expect(section.contains("channel \(c["channel"] as! Int): "), "channel \(c["channel"]!)") }
        #expect(section.components(separatedBy: "</section>")[0].contains("<circle"), "outliers marked")
    }

    @Test func histogramsMethodsAndComparison() throws {
        let dir = TemporaryDirectory()
        let db = try Self.sampleDatabase(dir)
        let r = try CLI.run(["report", "--db", db, "ort", "--against", "half", "-o", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = r.stdout
        #expect(html.contains("<h2>Against half</h2>"))
        #expect(html.contains("15 tensors compared, "), "\(html.prefix(2000))")
        // Each tensor's encoding numbers, as `show` prints them, and its histogram's method legend.
        let show = try CLI.run(["show", "--db", db, "ort", "--json"])
        let encodings = try #require((show.json as? [String: Any])?["encodings"] as? [String: [String: Any]])
        let e = try #require(encodings["embeddings.output"])
        let section = try #require(html.components(separatedBy: "<h3>embeddings.output</h3>").dropFirst().first)
        #expect(section.contains("offset</th><td>\(e["offset"] as! Int)</td>"), "\(section.prefix(600))")
        for method in ["minmax", "entropy", "percentile 99.999", "distribution"] {
            #expect(section.contains(">\(method)</tspan>"), "\(method)")
        }
        #expect(section.contains("histogram (√count)"))
    }

    @Test func namesAreEscapedAndTheDatabaseIsNeverTheOutput() throws {
        let dir = TemporaryDirectory()
        let file = dir.path("x.safetensors")
        try TensorFiles.safetensors([("<script>alert(1)</script>&'", [2, 2], [1, -2, 3, 4])])
            .write(to: URL(fileURLWithPath: file))
        let db = dir.path("x.sqlite")
        let run = try CLI.run(["run", "--db", db, "--session", "s", file])
        #expect(run.status == 0, "\(run.stderr)")
        let r = try CLI.run(["report", "--db", db, "s", "-o", "-"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("<script>"))
        #expect(r.stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;"))
        let refused = try CLI.run(["report", "--db", db, "s", "-o", db])
        #expect(refused.status != 0, "\(refused.stderr)")
        #expect(refused.stderr.contains("database"), "\(refused.stderr)")
        let check = try CLI.run(["check", "--db", db])
        #expect(check.status == 0 && check.stdout.contains("1 sessions, 1 batches"), "\(check.stdout)\(check.stderr)")
    }

    /// The sample's report in a real browser (Debian's chromium, headless): the page loads, its DOM
    /// holds the tensors, and a screenshot is a real PNG. Skipped where chromium is not installed.
    @Test(.enabled(if: Self.chromium != nil, "needs chromium (apt-get install -y chromium)"))
    func rendersInHeadlessChromium() throws {
        let dir = TemporaryDirectory()
        let db = try Self.sampleDatabase(dir)
        let out = dir.path("ort.html")
        #expect(try CLI.run(["report", "--db", db, "ort", "--against", "half", "-o", out]).status == 0)
        let browser = try #require(Self.chromium)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + dir.path("profile")]
        let dom = try CLI.run(flags + ["--dump-dom", "file://" + out], executable: URL(fileURLWithPath: browser))
        #expect(dom.status == 0, "\(dom.stderr.suffix(2000))")
        #expect(dom.stdout.contains("<h3>encoder.layer.5.output</h3>"))
        #expect(dom.stdout.components(separatedBy: "<svg").count > 30, "the plots are in the DOM")
        let png = dir.path("shot.png")
        let shot = try CLI.run(
            flags + ["--window-size=1200,1600", "--screenshot=" + png, "file://" + out], executable: URL(fileURLWithPath: browser)
        )
        #expect(shot.status == 0, "\(shot.stderr.suffix(2000))")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        #expect(bytes.count > 20_000, "a rendered page, not a blank one (\(bytes.count) bytes)")
    }

    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}
