/// A first-in, first-out queue: a ring buffer whose capacity doubles when it is full, so appending and taking
/// the oldest element are O(1) and, once the ring is large enough, allocate nothing and move nothing (an
/// array with a moving head had to compact itself whenever it ran empty, which was most of the cost of a pop).
/// A taken element is released at once. Offsets count from the oldest element (offset 0).
public struct FIFOQueue<Element> {
    /// `storedCount` elements from `head` on, wrapping around; `nil` elsewhere. Its size is 0 or a power of two.
    @usableFromInline var ring: [Element?] = []
    @usableFromInline var head = 0
    @usableFromInline var storedCount = 0

    /// Creates an empty queue.
    @inlinable
    public init() {}

    /// Elements waiting.
    @inlinable
    public var count: Int { storedCount }

    /// Whether no element waits.
    @inlinable
    public var isEmpty: Bool { storedCount == 0 }

    /// The oldest element, if any.
    @inlinable
    public var first: Element? { storedCount > 0 ? ring[head] : nil }

    /// The ring position of the element `offset` places after the oldest one.
    @inlinable
    func position(_ offset: Int) -> Int { (head &+ offset) & (ring.count &- 1) }

    /// The element `offset` places after the oldest one (`0 ..< count`).
    @inlinable
    public subscript(offset: Int) -> Element {
        precondition(offset >= 0 && offset < storedCount, "FIFOQueue: offset out of range")
        guard let element = ring[position(offset)] else { preconditionFailure("FIFOQueue: offset out of range") }
        return element
    }

    /// Appends an element (the newest).
    @inlinable
    public mutating func append(_ element: Element) {
        if storedCount == ring.count { grow() }
        ring[position(storedCount)] = element
        storedCount &+= 1
    }

    /// Removes and returns the oldest element, or `nil` when the queue is empty.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard storedCount > 0 else { return nil }
        let element = ring[head].take()
        head = position(1)
        storedCount &-= 1
        return element
    }

    /// Removes and returns the element at `offset` (`0 ..< count`); the later ones move up.
    @inlinable
    public mutating func remove(at offset: Int) -> Element {
        precondition(offset >= 0 && offset < storedCount, "FIFOQueue: offset out of range")
        if offset == 0, let element = popFirst() { return element }
        guard let element = ring[position(offset)].take() else { preconditionFailure("FIFOQueue: offset out of range") }
        for later in offset &+ 1 ..< storedCount {
            ring[position(later &- 1)] = ring[position(later)].take()
        }
        storedCount &-= 1
        return element
    }

    /// Removes every element and returns them, oldest first.
    @inlinable
    public mutating func removeAll() -> [Element] {
        var rest: [Element] = []
        rest.reserveCapacity(storedCount)
        while let element = popFirst() { rest.append(element) }
        ring = []
        head = 0
        return rest
    }

    /// Doubles the ring (at least 16 places), moving the elements to its start in order.
    @usableFromInline
    mutating func grow() {
        var larger = [Element?](repeating: nil, count: Swift.max(16, ring.count * 2))
        for offset in 0..<storedCount { larger[offset] = ring[position(offset)].take() }
        ring = larger
        head = 0
    }
}

extension FIFOQueue: Sendable where Element: Sendable {}
