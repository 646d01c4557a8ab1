import Glibc

/// One scratch file per fuzzing process, rewritten for every input (on tmpfs where there is one).
public enum ScratchFile {
  public static let directory: String = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"

  public static func path(_ suffix: String) -> String { "\(directory)/quotecast-fuzz-\(getpid())\(suffix)" }

  /// Writes the bytes to `path(suffix)` and returns that path.
  public static func write(_ bytes: UnsafeRawBufferPointer, suffix: String = "") -> String {
    let filePath = path(suffix)
    let fd = open(filePath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fatalError("cannot write the scratch file \(filePath)") }
    var written = 0
    while written < bytes.count {
      let step = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
      guard step > 0 else { fatalError("cannot write the scratch file \(filePath)") }
      written += step
    }
    close(fd)
    return filePath
  }
}
