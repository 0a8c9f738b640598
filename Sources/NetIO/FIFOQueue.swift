/// A first-in, first-out queue: an array with a moving head, so taking the oldest element is O(1) (amortized).
/// A taken element is released at once; its slot is dropped when the queue runs empty, or once there are at
/// least 64 such slots and they fill at least half the array. Offsets count from the oldest element (offset 0).
public struct FIFOQueue<Element> {
    /// `nil` before `head` (taken), elements from `head` on.
    @usableFromInline var items: [Element?] = []
    @usableFromInline var head = 0

    /// Creates an empty queue.
    @inlinable
    public init() {}

    /// Elements waiting.
    @inlinable
    public var count: Int { items.count - head }

    /// Whether no element waits.
    @inlinable
    public var isEmpty: Bool { head == items.count }

    /// The oldest element, if any.
    @inlinable
    public var first: Element? { head < items.count ? items[head] : nil }

    /// The element `offset` places after the oldest one (`0 ..< count`).
    @inlinable
    public subscript(offset: Int) -> Element {
        guard let element = items[head + offset] else { preconditionFailure("FIFOQueue: offset out of range") }
        return element
    }

    /// Appends an element (the newest).
    @inlinable
    public mutating func append(_ element: Element) { items.append(element) }

    /// Removes and returns the oldest element, or `nil` when the queue is empty.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let element = items[head]
        items[head] = nil
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes and returns the element at `offset` (`0 ..< count`); the later ones move up.
    @inlinable
    public mutating func remove(at offset: Int) -> Element {
        if offset == 0, let element = popFirst() { return element }
        guard let element = items.remove(at: head + offset) else { preconditionFailure("FIFOQueue: offset out of range") }
        return element
    }

    /// Removes every element and returns them, oldest first.
    @inlinable
    public mutating func removeAll() -> [Element] {
        let rest = items[head...].compactMap { $0 }
        items = []
        head = 0
        return rest
    }
}

extension FIFOQueue: Sendable where Element: Sendable {}
