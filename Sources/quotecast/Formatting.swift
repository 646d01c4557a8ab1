import Book
import Glibc
import QuotecastCore

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) { fputs(string, stderr) }
}
