extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (property files, header values, config lists),
    /// without needing Foundation.
    public var trimmedWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
