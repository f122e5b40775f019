// The shelf itself: books kept in memory, looked up by ISBN.
export interface Book {
  isbn: string;
  title: string;
  author: string;
  pages: number;
}

export class Shelf {
  private books = new Map<string, Book>();

  add(book: Book): void {
    this.books.set(book.isbn, book);
  }

  get(isbn: string): Book | undefined {
    return this.books.get(isbn);
  }

  list(): Book[] {
    return [...this.books.values()].sort((a, b) => a.title.localeCompare(b.title));
  }

  totalPages(): number {
    return this.list().reduce((sum, b) => sum + b.pages, 0);
  }
}
